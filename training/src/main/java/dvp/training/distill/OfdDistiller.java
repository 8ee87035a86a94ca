package dvp.training.distill;

import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Distill;
import dvp.engine.ops.Elementwise;
import dvp.nn.BatchNorm2d;
import dvp.nn.Identity;
import dvp.nn.Module;
import dvp.nn.ModuleList;
import dvp.nn.models.Connectors;
import dvp.nn.models.ResNet;
import dvp.nn.models.StageFeatures;

import java.util.ArrayList;
import java.util.List;

/**
 * Overhaul-of-Feature-Distillation from a frozen teacher (ALGORITHMS §3): per stage i a connector
 * r_i (1×1 conv + BN, C_s → C_t, trained with the student), the teacher's per-channel margin from
 * its last-block final BN (γ, β; computed once here, the teacher never changes), and the loss
 * λ/B · Σ_i w_i · Σ_{n,c,h,w} mask·(r_i(s_i) − max(t_i, m))².
 *
 * <p>The teacher is frozen: its parameters do not require grad, it is in no optimizer, and its
 * forward runs under no-grad (only its features are needed, as constants). In {@code train} mode
 * its BN layers use batch statistics (OFD/DVP; the margin's assumption that a pre-ReLU response has
 * mean β and std |γ| holds exactly then); its running statistics change but are never used.
 */
public final class OfdDistiller {
    private final ResNet teacher;
    private final ModuleList connectors;
    private final Tensor[] margins;
    private final float[] stageWeights;
    private final float lambda;
    private final boolean teacherTrainMode;

    /**
     * Builds the connectors (from rng) and the margins on the teacher's backend, in the scope open now.
     * The spec's ablations replace them: {@code identity} connectors (no parameters; the channels must
     * match) and {@code zero} margins (the target becomes the teacher's ReLU output).
     */
    public OfdDistiller(ResNet teacher, ResNet student, DistillSpec spec, Rng rng) {
        this.teacher = teacher;
        teacher.requiresGrad(false);
        int[] ct = teacher.stageChannels(), cs = student.stageChannels();
        List<Module> conns = new ArrayList<>();
        boolean identity = spec.connectors().equals("identity");
        for (int i = 0; i < 4; i++) {
            if (identity && cs[i] != ct[i])
                throw new dvp.training.run.BadInputException("--connectors identity needs the student's stage channels to equal the teacher's, but stage "
                        + (i + 1) + " has " + cs[i] + " and " + ct[i]);
            conns.add(identity ? new Identity() : Connectors.ofd(cs[i], ct[i], rng.fork(i)));
        }
        connectors = new ModuleList(conns);
        margins = new Tensor[4];
        for (int i = 0; i < 4; i++) {
            BatchNorm2d bn = teacher.stageFinalBn(i);
            margins[i] = Distill.ofdMargin(bn.weight(), bn.bias());
            if (spec.margins().equals("zero")) margins[i].backend().fill(margins[i], 0);
        }
        stageWeights = new float[4];
        for (int i = 0; i < 4; i++) stageWeights[i] = spec.stageWeights().get(i).floatValue();
        lambda = (float) spec.lambda();
        teacherTrainMode = spec.teacherTrainMode();
    }

    public ResNet teacher() { return teacher; }

    /** The four connectors ({@code 0.*} .. {@code 3.*}); trained with the student, never exported. */
    public ModuleList connectors() { return connectors; }

    /** The margin of stage i, [C_t] (all negative). */
    public Tensor margin(int i) { return margins[i]; }

    /** Sets the connectors to training mode and the teacher to its configured mode. */
    public void train() {
        connectors.train();
        teacher.train(teacherTrainMode);
    }

    /**
     * The distillation term for one batch: the teacher encodes x (the same augmented batch the
     * student saw) under no-grad; each student stage goes through its connector. Returns
     * λ/B · Σ_i w_i·d_i, rank-0, differentiable in the student and the connectors.
     */
    public Tensor loss(StageFeatures student, Tensor x) {
        Tensor[] terms = stageTerms(student, x);
        Tensor total = terms[0];
        for (int i = 1; i < 4; i++) total = Elementwise.add(total, terms[i]);
        return total;
    }

    /**
     * The four stages' terms of {@link #loss}, λ/B · w_i · d_i each (rank-0, differentiable), whose
     * sum is the distillation term: how much each stage contributes, for the metrics.
     */
    public Tensor[] stageTerms(StageFeatures student, Tensor x) {
        StageFeatures t;
        try (var g = GradMode.noGrad()) {
            t = teacher.forwardWithFeatures(x);
        }
        float perImage = lambda / x.dim(0);
        Tensor[] terms = new Tensor[4];
        for (int i = 0; i < 4; i++) {
            Tensor s = connectors.get(i).forward(student.stage(i));
            terms[i] = Distill.ofdLoss(s, t.stage(i), margins[i], stageWeights[i] * perImage);
        }
        return terms;
    }
}
