package dvp.training.perf;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Distill;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.nn.Sequential;
import dvp.nn.models.Connectors;
import dvp.nn.models.ResNet;
import dvp.nn.models.StageFeatures;
import dvp.nn.optim.Sgd;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code distill-step}: one phase-2 iteration (ALGORITHMS §3): the teacher (train-mode BN, no
 * grad) and the student see the same batch; per stage an OFD connector (1×1 conv + BN) maps the
 * student's pre-ReLU feature and the OFD loss against the teacher's, weighted 2^-(4-i)/(B·10⁴),
 * is added to the label-smoothed (0.1) cross-entropy; backward; SGD (Nesterov, momentum 0.9,
 * weight decay 1e-4) over student and connectors. Margins come from the teacher's final BNs,
 * once. When the trainer's distillation step exists this scenario should call it instead.
 */
final class DistillStepScenario extends Scenario {
    private final ResNet teacher, student;
    private final Sequential[] connectors = new Sequential[4];
    private final Tensor[] margins = new Tensor[4];
    private final float[] weights = new float[4];
    private final Sgd sgd;
    private final Tensor x, labels, lossOut;
    private final int batch;

    DistillStepScenario(Backend backend, ScenarioOptions o) {
        super(backend);
        batch = o.batchOr(4, 256, onGpu());
        int res = o.resolutionOr(64, 224, onGpu()), classes = o.classesOr(1000);
        ResNet.Arch arch = ResNet.Arch.fromName(o.arch() != null ? o.arch() : "resnet50");
        double width = o.widthOr1();
        imageSettings(arch.torchvisionName() + " teacher and student", batch, res, width);
        settings.put("classes", classes);
        settings.put("label_smoothing", 0.1);
        settings.put("distill_weight", "2^-(4-i) / (B * 1e4)");
        settings.put("optimizer", "sgd lr 0.1 nesterov momentum 0.9 weight_decay 1e-4");
        settings.put("seed", o.seed());
        Rng rng = new Rng(o.seed());
        // DVP starts teacher and student from the same phase-1 weights: same seed, same values
        teacher = building(() -> ResNet.builder(arch).numClasses(classes).widthMultiplier(width).build(rng.fork(1)));
        student = building(() -> ResNet.builder(arch).numClasses(classes).widthMultiplier(width).build(rng.fork(1)));
        teacher.requiresGrad(false);
        teacher.train();
        student.train();
        int[] ch = student.stageChannels(), tch = teacher.stageChannels();
        Map<String, Tensor> params = new LinkedHashMap<>(student.namedParameters());
        for (int i = 0; i < 4; i++) {
            int si = i;
            connectors[i] = building(() -> Connectors.ofd(ch[si], tch[si], rng.fork(10 + si)));
            connectors[i].namedParameters().forEach((n, t) -> params.put("connector" + si + "." + n, t));
            margins[i] = building(() -> Distill.ofdMargin(teacher.stageFinalBn(si).weight(), teacher.stageFinalBn(si).bias()));
            weights[i] = (float) (Math.pow(2, -(3 - i)) / (batch * 1e4));
        }
        sgd = building(() -> Sgd.builder(0.1).momentum(0.9).nesterov(true).weightDecay(1e-4).group(params).build());
        x = images(rng.fork(2), batch, res);
        labels = labels(rng.fork(3), batch, classes);
        lossOut = Tensor.zeros(backend, 1);
    }

    @Override
    public String name() { return "distill-step"; }

    @Override
    public List<Workload> workloads() { return List.of(new Workload("distill_step", batch, this::distillStep)); }

    private void distillStep() {
        try (Scope s = Scope.open("step")) {
            StageFeatures tf, sf;
            try (var ng = GradMode.noGrad(); var r = range("teacher forward")) {
                tf = teacher.forwardWithFeatures(x);
            }
            Tensor loss;
            try (var r = range("student forward + losses")) {
                sf = student.forwardWithFeatures(x);
                loss = Losses.crossEntropy(sf.logits(), labels, 0.1f);
                for (int i = 0; i < 4; i++)
                    loss = Elementwise.add(loss, Distill.ofdLoss(connectors[i].forward(sf.stage(i)), tf.stage(i), margins[i], weights[i]));
            }
            backwardAndUpdate(loss, sgd, lossOut);
        }
    }

    @Override
    public Map<String, float[]> fingerprint() {
        Map<String, float[]> m = new LinkedHashMap<>();
        values(student.stateDict()).forEach((n, v) -> m.put("student." + n, v));
        for (int i = 0; i < 4; i++) {
            int si = i;
            values(connectors[i].stateDict()).forEach((n, v) -> m.put("connector" + si + "." + n, v));
        }
        m.put("loss", lossOut.toFloatArray());
        return m;
    }
}
