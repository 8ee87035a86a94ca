package dvp.cli.perf;

import dvp.training.perf.ScenarioOptions;
import picocli.CommandLine.Option;

/**
 * The scenario knobs shared by {@code dvp profile} and {@code dvp bench}. Left out, each scenario
 * uses its default for the device (small on the CPU; issue 8's batch 256 at 224 px on a GPU).
 */
public final class ScenarioOptionsMixin {
    @Option(names = "--batch", paramLabel = "N", description = "Images per step (rows N for margin-infonce). Default: the scenario's for the device.")
    Integer batch;

    @Option(names = "--resolution", paramLabel = "PX", description = "Input height = width. Default: the scenario's for the device.")
    Integer resolution;

    @Option(names = "--width", paramLabel = "M", description = "ResNet width multiplier (1 = torchvision; 0.25 for quick looks). Default: 1.")
    Double width;

    @Option(names = "--arch", paramLabel = "NAME", description = "Backbone of moco-step and distill-step (torchvision name). Default: resnet50.")
    String arch;

    @Option(names = "--queue", paramLabel = "K", description = "MoCo queue length (moco-step, margin-infonce).")
    Integer queue;

    @Option(names = "--size", paramLabel = "M,N,K", description = "One GEMM shape for the gemm scenario (default: several square sizes).")
    String size;

    @Option(names = "--classes", paramLabel = "N", description = "Classifier outputs of the training scenarios. Default: 1000.")
    Integer classes;

    ScenarioOptions toOptions(long seed) { return new ScenarioOptions(batch, resolution, width, arch, queue, size, classes, seed); }
}
