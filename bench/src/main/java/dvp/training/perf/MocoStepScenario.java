package dvp.training.perf;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.nn.optim.Sgd;
import dvp.training.model.ModelSpec;
import dvp.training.moco.MocoModel;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code moco-step}: one iteration of the pretrainer's MoCo v2 + margin step (ALGORITHMS §2.2) on a
 * synthetic two-view batch: {@link MocoModel#step} (query encoder, momentum update and key encoder
 * under no-grad with the key batch shuffled, margin-InfoNCE against the queue, enqueue), backward,
 * SGD on f_q — what {@code dvp pretrain}'s trainStep does, minus the data loader. Split BN as the
 * pretrainer uses it on one device.
 */
final class MocoStepScenario extends Scenario {
    static final float MARGIN = 0.4f, TAU = 0.2f;
    static final double ETA = 0.999;
    private final MocoModel model;
    private final Sgd sgd;
    private final Tensor xq, xk, lossOut;
    private final int batch;
    private final Rng shuffles;
    private final dvp.training.loop.GraphedStep runner;
    private long step;

    MocoStepScenario(Backend backend, ScenarioOptions o) {
        super(backend);
        batch = o.batchOr(8, 256, onGpu());
        int res = o.resolutionOr(64, 224, onGpu()), k = o.queueOr(4096, 4096, onGpu()), dim = 128;
        int splits = onGpu() ? 8 : 2;
        if (batch % splits != 0) splits = 1;
        if (k % batch != 0) throw new IllegalArgumentException("moco-step: queue " + k + " is not a multiple of the batch " + batch);
        ModelSpec spec = ModelSpec.of(o.arch() != null ? o.arch() : "resnet50").withWidth(o.widthOr1());
        imageSettings(spec.validate().torchvisionName(), batch, res, spec.widthMultiplier());
        settings.put("queue", k);
        settings.put("dim", dim);
        settings.put("bn_splits", splits);
        settings.put("margin", MARGIN);
        settings.put("tau", TAU);
        settings.put("momentum_encoder", ETA);
        settings.put("key_shuffle", true);
        settings.put("optimizer", "sgd lr 0.03 momentum 0.9 weight_decay 1e-4");
        settings.put("seed", o.seed());
        Rng rng = new Rng(o.seed());
        int s = splits;
        model = building(() -> new MocoModel(spec, dim, k, s, ETA, MARGIN, TAU, rng.fork(1)));
        model.encoderQ().train();
        model.encoderK().train();
        sgd = building(() -> Sgd.builder(0.03).momentum(0.9).weightDecay(1e-4).group(model.encoderQ().namedParameters()).build());
        xq = images(rng.fork(2), batch, res);
        xk = images(rng.fork(3), batch, res);
        shuffles = rng.fork(4);
        lossOut = Tensor.zeros(backend, 1);
        memoryFormat(o, model.encoderQ(), model.encoderK());
        runner = graphedStep(o, sgd, Map.of("encoder_q", model.encoderQ(), "encoder_k", model.encoderK()));
    }

    @Override
    public String name() { return "moco-step"; }

    @Override
    public List<Workload> workloads() { return List.of(new Workload("moco_step", batch, this::mocoStep)); }

    private void mocoStep() {
        // a fresh key permutation per step, a pure function of (seed, step) as in the pretrainer
        int[] order = shuffles.fork(step++).permutation(batch);
        try (Scope s = Scope.open("step")) {
            // the permutation reaches the step as device index tensors (a captured step replays with each run's)
            MocoModel.KeyShuffle ks = MocoModel.KeyShuffle.of(backend, order, batch);
            runner.run("moco", new Tensor[]{xq, xk, ks.order(), ks.inverse()}, in -> {
                MocoModel.Step r;
                try (var rg = range("moco forward (query, momentum update, keys, loss, enqueue)")) {
                    r = model.step(in[0], in[1], new MocoModel.KeyShuffle(in[2], in[3]), false);
                }
                backwardAndUpdate(r.loss(), sgd, lossOut);
                return new Tensor[0];
            });
        }
    }

    @Override
    public Map<String, float[]> fingerprint() {
        Map<String, float[]> m = new LinkedHashMap<>();
        values(model.encoderQ().stateDict()).forEach((n, v) -> m.put("encoder_q." + n, v));
        values(model.encoderK().stateDict()).forEach((n, v) -> m.put("encoder_k." + n, v));
        m.put("queue", model.queue().toFloatArray());
        m.put("loss", lossOut.toFloatArray());
        return m;
    }
}
