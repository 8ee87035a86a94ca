package dvp.training.distill;

import dvp.training.run.BadInputException;

import java.nio.file.Path;
import java.util.List;

/**
 * Phase 2's distillation settings (ALGORITHMS §3); {@link #defaults()} is DVP's recipe.
 *
 * @param teacher      the teacher's weights, or null for the student's own initial weights (self-distillation)
 * @param teacherMode  {@code train} (BN with batch statistics, as OFD/DVP) or {@code eval}
 * @param lambda       weight of the per-image distillation sum: L = CE + λ·Σ_i w_i·d_i / B (10⁻⁴)
 * @param stageWeights w_1..w_4 (1/8, 1/4, 1/2, 1)
 * @param warmupEpochs CE-only epochs before distillation switches on (4: on from the 1-based epoch 5)
 * @param margins      the teacher's per-channel margin: {@code bn} (OFD's, from its BN's γ and β; the
 *                     recipe) or {@code zero} (an ablation: the target is then the teacher's ReLU output)
 * @param connectors   {@code conv-bn} (OFD's 1×1 conv + BN per stage, trained; the recipe) or
 *                     {@code identity} (an ablation: the student's features are compared as they are;
 *                     needs the same channels, as in self-distillation)
 */
public record DistillSpec(Path teacher, String teacherMode, double lambda, List<Double> stageWeights, int warmupEpochs, String margins,
                          String connectors) {
    public DistillSpec {
        teacherMode = teacherMode == null ? "train" : teacherMode.toLowerCase(java.util.Locale.ROOT);
        stageWeights = stageWeights == null ? List.of(0.125, 0.25, 0.5, 1.0) : List.copyOf(stageWeights);
        margins = margins == null ? "bn" : margins.toLowerCase(java.util.Locale.ROOT);
        connectors = connectors == null ? "conv-bn" : connectors.toLowerCase(java.util.Locale.ROOT);
    }

    /** The recipe's margins and connectors. */
    public DistillSpec(Path teacher, String teacherMode, double lambda, List<Double> stageWeights, int warmupEpochs) {
        this(teacher, teacherMode, lambda, stageWeights, warmupEpochs, "bn", "conv-bn");
    }

    public static DistillSpec defaults() { return new DistillSpec(null, "train", 1e-4, List.of(0.125, 0.25, 0.5, 1.0), 4); }

    public DistillSpec withTeacher(Path p) { return new DistillSpec(p, teacherMode, lambda, stageWeights, warmupEpochs, margins, connectors); }

    public DistillSpec withTeacherMode(String m) { return new DistillSpec(teacher, m, lambda, stageWeights, warmupEpochs, margins, connectors); }

    public DistillSpec withLambda(double l) { return new DistillSpec(teacher, teacherMode, l, stageWeights, warmupEpochs, margins, connectors); }

    public DistillSpec withWarmupEpochs(int e) { return new DistillSpec(teacher, teacherMode, lambda, stageWeights, e, margins, connectors); }

    public DistillSpec withStageWeights(List<Double> w) { return new DistillSpec(teacher, teacherMode, lambda, w, warmupEpochs, margins, connectors); }

    public DistillSpec withMargins(String m) { return new DistillSpec(teacher, teacherMode, lambda, stageWeights, warmupEpochs, m, connectors); }

    public DistillSpec withConnectors(String c) { return new DistillSpec(teacher, teacherMode, lambda, stageWeights, warmupEpochs, margins, c); }

    public boolean teacherTrainMode() { return teacherMode.equals("train"); }

    /** Whether the 0-based epoch trains with distillation (DVP: {@code epoch₁ >= no_distill_epoch + 1}). */
    public boolean distillsAt(int epoch) { return epoch >= warmupEpochs; }

    public void validate() {
        if (!teacherMode.equals("train") && !teacherMode.equals("eval"))
            throw new BadInputException("--teacher-mode must be train or eval, got '" + teacherMode + "'");
        if (!(lambda >= 0) || !Double.isFinite(lambda)) throw new BadInputException("--distill-lambda must be >= 0, got " + lambda);
        if (stageWeights.size() != 4 || stageWeights.stream().anyMatch(w -> w == null || !(w >= 0) || !Double.isFinite(w)))
            throw new BadInputException("--stage-weights needs 4 non-negative numbers, got " + stageWeights);
        if (warmupEpochs < 0) throw new BadInputException("--distill-warmup must be >= 0 epochs, got " + warmupEpochs);
        if (!margins.equals("bn") && !margins.equals("zero"))
            throw new BadInputException("--distill-margins must be bn (from the teacher's BN, the recipe) or zero, got '" + margins + "'");
        if (!connectors.equals("conv-bn") && !connectors.equals("identity"))
            throw new BadInputException("--connectors must be conv-bn (the recipe) or identity, got '" + connectors + "'");
    }
}
