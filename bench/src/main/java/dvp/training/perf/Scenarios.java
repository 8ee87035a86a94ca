package dvp.training.perf;

import dvp.engine.spi.Backend;
import dvp.nn.models.ResNet;
import dvp.training.run.BadInputException;

import java.util.List;

/** The catalog of scenarios shared by {@code dvp profile} and {@code dvp bench}. */
public final class Scenarios {
    private Scenarios() {}

    /** Every scenario name, in the order {@code dvp bench} runs them. */
    public static final List<String> NAMES = List.of("resnet18-train", "resnet50-train", "moco-step", "distill-step",
            "margin-infonce", "ofd-loss", "conv", "gemm");

    /** One line per scenario, for --help and error messages. */
    public static final List<String> DESCRIPTIONS = List.of(
            "resnet18-train   ResNet-18 supervised step: forward, cross-entropy, backward, SGD",
            "resnet50-train   ResNet-50 supervised step (as above)",
            "moco-step        the pretrainer's MoCo v2 + margin step: two ResNet-50 encoders, momentum update, key shuffle, margin-InfoNCE, enqueue, SGD",
            "distill-step     dvp distill's step: ResNet-50 student + CE, teacher (no grad) and 4 OFD connectors, Nesterov SGD",
            "margin-infonce   the fused margin-InfoNCE loss, forward + backward",
            "ofd-loss         the fused OFD loss at ResNet-50's four stage shapes, forward + backward",
            "conv             every distinct ResNet-50 convolution, forward / data grad / filter grad",
            "gemm             SGEMM at square sizes or --size M,N,K");

    /**
     * Builds a scenario on {@code backend} (inside its own scope; close it). Unknown names and
     * bad options throw {@link BadInputException} (exit code 2) naming what is wrong.
     */
    public static Scenario create(String name, Backend backend, ScenarioOptions o) {
        if (!NAMES.contains(name))
            throw new BadInputException("unknown scenario '" + name + "' (known: " + String.join(", ", NAMES) + ")");
        try {
            return Scenario.build(name, () -> switch (name) {
                case "resnet18-train" -> new ResNetTrainScenario(name, ResNet.Arch.RESNET18, backend, o);
                case "resnet50-train" -> new ResNetTrainScenario(name, ResNet.Arch.RESNET50, backend, o);
                case "moco-step" -> new MocoStepScenario(backend, o);
                case "distill-step" -> new DistillStepScenario(backend, o);
                case "margin-infonce" -> new LossScenarios.MarginInfoNce(backend, o);
                case "ofd-loss" -> new LossScenarios.OfdLoss(backend, o);
                case "conv" -> new ConvScenario(backend, o);
                case "gemm" -> new GemmScenario(backend, o);
                default -> throw new AssertionError(name);
            });
        } catch (IllegalArgumentException e) {
            // while building, every such error comes from a setting the user chose (batch, size, arch, ...)
            throw new BadInputException(e.getMessage(), e);
        }
    }
}
