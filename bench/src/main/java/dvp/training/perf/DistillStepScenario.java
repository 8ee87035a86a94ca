package dvp.training.perf;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.nn.models.ResNet;
import dvp.nn.models.StageFeatures;
import dvp.nn.optim.Sgd;
import dvp.training.distill.DistillSpec;
import dvp.training.distill.OfdDistiller;
import dvp.training.model.ModelSpec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code distill-step}: one phase-2 iteration as {@code dvp distill}'s trainStep does it once
 * distillation is on (ALGORITHMS §3): the student's forward with its stage features, label-smoothed
 * (0.1) cross-entropy plus {@link OfdDistiller#loss} (teacher forward under no-grad in train mode,
 * four connectors, weighted OFD losses with DVP's defaults), backward, Nesterov SGD over student
 * and connectors. Teacher and student start from the same weights (self-distillation).
 */
final class DistillStepScenario extends Scenario {
    private final ResNet student;
    private final OfdDistiller distiller;
    private final Sgd sgd;
    private final Tensor x, labels, lossOut;
    private final int batch;
    private final dvp.training.loop.GraphedStep runner;

    DistillStepScenario(Backend backend, ScenarioOptions o) {
        super(backend);
        batch = o.batchOr(4, 256, onGpu());
        int res = o.resolutionOr(64, 224, onGpu()), classes = o.classesOr(1000);
        ModelSpec spec = ModelSpec.of(o.arch() != null ? o.arch() : "resnet50").withWidth(o.widthOr1());
        DistillSpec ds = DistillSpec.defaults();
        imageSettings(spec.validate().torchvisionName() + " teacher and student", batch, res, spec.widthMultiplier());
        settings.put("classes", classes);
        settings.put("label_smoothing", 0.1);
        settings.put("distill", "lambda " + ds.lambda() + ", stage weights " + ds.stageWeights() + ", teacher mode " + ds.teacherMode());
        settings.put("optimizer", "sgd lr 0.1 nesterov momentum 0.9 weight_decay 1e-4");
        settings.put("seed", o.seed());
        Rng rng = new Rng(o.seed());
        ResNet teacher = building(() -> spec.build(classes, rng.fork(1)));
        student = building(() -> spec.build(classes, rng.fork(1)));
        distiller = building(() -> new OfdDistiller(teacher, student, ds, rng.fork(10)));
        distiller.train();
        student.train();
        Map<String, Tensor> params = new LinkedHashMap<>(student.namedParameters());
        distiller.connectors().namedParameters().forEach((k, v) -> params.put("connectors." + k, v));
        sgd = building(() -> Sgd.builder(0.1).momentum(0.9).nesterov(true).weightDecay(1e-4).group(params).build());
        x = images(rng.fork(2), batch, res);
        labels = labels(rng.fork(3), batch, classes);
        lossOut = Tensor.zeros(backend, 1);
        memoryFormat(o, student, teacher);
        runner = graphedStep(o, sgd, Map.of("student", student, "teacher", teacher, "connectors", distiller.connectors()));
    }

    @Override
    public String name() { return "distill-step"; }

    @Override
    public List<Workload> workloads() { return List.of(new Workload("distill_step", batch, this::distillStep)); }

    private void distillStep() {
        try (Scope s = Scope.open("step")) {
            runner.run("distill", new Tensor[]{x, labels}, in -> {
                Tensor loss;
                try (var r = range("student forward, teacher forward, losses")) {
                    StageFeatures sf = student.forwardWithFeatures(in[0]);
                    loss = Elementwise.add(Losses.crossEntropy(sf.logits(), in[1], 0.1f), distiller.loss(sf, in[0]));
                }
                backwardAndUpdate(loss, sgd, lossOut);
                return new Tensor[0];
            });
        }
    }

    @Override
    public Map<String, float[]> fingerprint() {
        Map<String, float[]> m = new LinkedHashMap<>();
        values(student.stateDict()).forEach((n, v) -> m.put("student." + n, v));
        values(distiller.connectors().stateDict()).forEach((n, v) -> m.put("connectors." + n, v));
        m.put("loss", lossOut.toFloatArray());
        return m;
    }
}
