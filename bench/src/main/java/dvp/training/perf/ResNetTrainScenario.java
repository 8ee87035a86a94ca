package dvp.training.perf;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;

import java.util.List;
import java.util.Map;

/**
 * {@code resnet18-train} / {@code resnet50-train}: one supervised training step on a synthetic
 * batch — forward, cross-entropy, backward, SGD (momentum 0.9, weight decay 1e-4), zero grads —
 * with torchvision's architecture. The batch is drawn once; the step never synchronises with the
 * host (the loss stays on the device).
 */
final class ResNetTrainScenario extends Scenario {
    private final String name;
    private final ResNet model;
    private final Sgd sgd;
    private final Tensor x, labels, lossOut;
    private final int batch;
    private final dvp.training.loop.GraphedStep runner;

    ResNetTrainScenario(String name, ResNet.Arch arch, Backend backend, ScenarioOptions o) {
        super(backend);
        this.name = name;
        if (o.arch() != null && !o.arch().equalsIgnoreCase(arch.torchvisionName()))
            throw new IllegalArgumentException(name + ": the architecture is " + arch.torchvisionName() + " (got --arch " + o.arch() + ")");
        batch = o.batchOr(8, 256, onGpu());
        int res = o.resolutionOr(64, 224, onGpu()), classes = o.classesOr(1000);
        double width = o.widthOr1();
        imageSettings(arch.torchvisionName(), batch, res, width);
        settings.put("classes", classes);
        settings.put("optimizer", "sgd lr 0.1 momentum 0.9 weight_decay 1e-4");
        settings.put("seed", o.seed());
        Rng rng = new Rng(o.seed());
        model = building(() -> ResNet.builder(arch).numClasses(classes).widthMultiplier(width).build(rng.fork(1)));
        model.train();
        sgd = building(() -> Sgd.builder(0.1).momentum(0.9).weightDecay(1e-4).group(model.namedParameters()).build());
        x = images(rng.fork(2), batch, res);
        labels = labels(rng.fork(3), batch, classes);
        lossOut = Tensor.zeros(backend, 1);
        memoryFormat(o, model);
        runner = graphedStep(o, sgd, Map.of("model", model));
    }

    @Override
    public String name() { return name; }

    @Override
    public List<Workload> workloads() { return List.of(new Workload("train_step", batch, this::trainStep)); }

    private void trainStep() {
        try (Scope s = Scope.open("step")) {
            runner.run("train", new Tensor[]{x, labels}, in -> {
                Tensor loss;
                try (var r = range("forward")) {
                    loss = Losses.crossEntropy(model.forward(in[0]), in[1]);
                }
                backwardAndUpdate(loss, sgd, lossOut);
                return new Tensor[0];
            });
        }
    }

    @Override
    public Map<String, float[]> fingerprint() {
        Map<String, float[]> m = values(model.stateDict());
        m.put("loss", lossOut.toFloatArray());
        return m;
    }
}
