package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.cli.ResumeArgs;
import dvp.cli.SessionOptionsMixin;
import dvp.training.pipeline.Demo;
import dvp.training.pipeline.PipelineConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code dvp demo}: the pipeline with the comparison rows on Fashion-MNIST, small enough for a laptop CPU. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Runs the whole method with Table 1's comparison rows on Fashion-MNIST in the VIPriors regime (50 training + "
                + "50 validation images per class from the training file, the official 10,000 test images as test) with a small ResNet: "
                + "supervised baseline, phase 1 + linear classifier, phase 1 + fine-tuning, phase 1 + phase 2. Ends with the results table. "
                + "About 10 minutes on a 2-core CPU by default (--device auto uses a GPU when there is one); the size options make it longer.",
                "Needs Fashion-MNIST: apt-get install dataset-fashion-mnist (or --fashion-mnist DIR with its IDX files).", ""})
public final class DemoCommand implements Callable<Integer>, ResumeArgs.Resumable {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    SessionOptionsMixin run;

    private static final Demo.Size STANDARD = Demo.Size.standard();

    @Option(names = "--fashion-mnist", paramLabel = "DIR", description = "Folder of the Fashion-MNIST IDX files. Default: /usr/share/datasets/fashion-mnist.")
    Path dir;

    @Option(names = "--per-class", paramLabel = "N", description = "Training images per class (50).")
    Integer perClass;

    @Option(names = "--val-per-class", paramLabel = "N", description = "Validation images per class (50).")
    Integer valPerClass;

    @Option(names = "--pretrain-epochs", paramLabel = "N", description = "Phase-1 epochs (default: the 10-minute size).")
    Integer pretrainEpochs;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs of distill, finetune and the baseline (default: the 10-minute size).")
    Integer epochs;

    @Option(names = "--linear-epochs", paramLabel = "N", description = "Epochs of the linear classifier (default: the 10-minute size).")
    Integer linearEpochs;

    @Option(names = "--width", paramLabel = "M", description = "Width multiplier of the ResNet (default: the 10-minute size).")
    Double width;

    @Option(names = "--blocks", paramLabel = "N", description = "Residual blocks per stage: 1 (ResNet-10 layout) or 2 (ResNet-18) (default: the 10-minute size).")
    Integer blocks;

    @Option(names = "--batch-size", paramLabel = "N", description = "Batch of every phase (64).")
    Integer batchSize;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    Demo.Size size() {
        Demo.Size s = STANDARD;
        return new Demo.Size(perClass != null ? perClass : s.trainPerClass(), valPerClass != null ? valPerClass : s.valPerClass(),
                pretrainEpochs != null ? pretrainEpochs : s.pretrainEpochs(), epochs != null ? epochs : s.epochs(),
                linearEpochs != null ? linearEpochs : s.linearEpochs(), width != null ? width : s.width(), blocks != null ? blocks : s.blocks(),
                batchSize != null ? batchSize : s.batchSize());
    }

    @Override
    public Integer call() throws Exception {
        PipelineConfig cfg = Demo.config(size(), dir, dvp.seed(), workers);
        return PipelineRunner.run(cfg, run.toSessionOptions(dvp.progress(), spec), "demo", dvp.device().select(spec.commandLine().getErr()),
                spec.commandLine().getOut(), spec.commandLine().getErr());
    }
}
