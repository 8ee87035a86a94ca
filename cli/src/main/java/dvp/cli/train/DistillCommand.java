package dvp.cli.train;

import dvp.training.distill.DistillSpec;
import dvp.training.supervised.ClassifierConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** {@code dvp distill}: phase 2, self-distillation with OFD (ALGORITHMS §3). */
@Command(name = "distill", mixinStandardHelpOptions = true,
        description = {"Phase 2: the student starts from the --pretrained phase-1 weights and is fine-tuned with cross-entropy plus "
                + "OFD feature distillation from a frozen teacher with the same weights (one 1x1 conv + BN connector per stage, margins "
                + "from the teacher's BN, stage weights 1/8, 1/4, 1/2, 1, loss CE + sum/(B*1e4)). The exported student has no connectors.",
                "Defaults: 100 epochs, batch 256, SGD lr 0.1 Nesterov wd 1e-4, x0.1 at 1-based epochs 30/60/90, CE only for 4 warm-up "
                        + "epochs, teacher BN in train mode. For the competition: --image-size 448 --arch resnext101_32x8d "
                        + "--label-smoothing 0.1 --auto-augment dvp.", ""})
public final class DistillCommand extends ClassifierCommand {
    @Option(names = "--teacher", paramLabel = "PATH", description = "Teacher weights (default: the --pretrained weights: self-distillation).")
    Path teacher;

    @Option(names = "--teacher-mode", paramLabel = "train|eval", defaultValue = "train",
            description = "Teacher BN statistics: train (batch statistics, as OFD/DVP) or eval (running). Default: ${DEFAULT-VALUE}.")
    String teacherMode;

    @Option(names = "--distill-lambda", paramLabel = "L", defaultValue = "1e-4", description = "Weight of the per-image distillation sum. Default: ${DEFAULT-VALUE}.")
    double lambda;

    @Option(names = "--distill-warmup", paramLabel = "EPOCHS", defaultValue = "4", description = "Cross-entropy-only epochs first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--stage-weights", paramLabel = "W,W,W,W", split = ",", defaultValue = "0.125,0.25,0.5,1",
            description = "Weights of layer1..layer4. Default: ${DEFAULT-VALUE}.")
    List<Double> stageWeights;

    @Option(names = "--distill-margins", paramLabel = "bn|zero", defaultValue = "bn",
            description = "The teacher's per-channel margins: bn (from its BN's gamma and beta, OFD's) or zero (an ablation). Default: ${DEFAULT-VALUE}.")
    String margins;

    @Option(names = "--connectors", paramLabel = "conv-bn|identity", defaultValue = "conv-bn",
            description = "Per-stage connectors: conv-bn (1x1 conv + BN, trained, OFD's) or identity (an ablation). Default: ${DEFAULT-VALUE}.")
    String connectors;

    @Override
    ClassifierConfig base() {
        DistillSpec d = new DistillSpec(teacher, teacherMode, lambda, stageWeights, warmup, margins, connectors);
        return ClassifierConfig.distillation().with(b -> b.distill = d);
    }

    @Override
    String name() { return "distill"; }
}
