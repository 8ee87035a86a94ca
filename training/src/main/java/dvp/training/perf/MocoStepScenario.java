package dvp.training.perf;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Contrastive;
import dvp.engine.ops.Norm;
import dvp.engine.spi.Backend;
import dvp.nn.models.NormFactory;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code moco-step}: one MoCo v2 iteration with the DVP margin (ALGORITHMS §2.2), built from nn and
 * engine ops: q = normalize(f_q(x_q)); under no-grad the momentum update of f_k's parameters
 * (η = 0.999) and k = normalize(f_k(x_k)); margin-InfoNCE against the queue (m 0.4, τ 0.2);
 * backward; SGD on f_q; enqueue k. Both encoders use MoCo's single-device split BN. The key
 * batch is not shuffled (that is a gather, not yet a primitive): the step's cost is otherwise
 * MoCo's. When the trainer's MoCo step exists this scenario should call it instead.
 */
final class MocoStepScenario extends Scenario {
    static final float MARGIN = 0.4f, TAU = 0.2f, ETA = 0.999f;
    private final ResNet encQ, encK;
    private final Sgd sgd;
    private final Tensor xq, xk, queue, ptr, lossOut;
    private final int batch;
    private final List<Tensor[]> paramPairs = new java.util.ArrayList<>();

    MocoStepScenario(Backend backend, ScenarioOptions o) {
        super(backend);
        batch = o.batchOr(8, 256, onGpu());
        int res = o.resolutionOr(64, 224, onGpu()), k = o.queueOr(4096, 4096, onGpu()), dim = 128;
        int splits = onGpu() ? 8 : 2;
        if (batch % splits != 0) splits = 1;
        if (k % batch != 0) throw new IllegalArgumentException("moco-step: queue " + k + " is not a multiple of the batch " + batch);
        ResNet.Arch arch = ResNet.Arch.fromName(o.arch() != null ? o.arch() : "resnet50");
        double width = o.widthOr1();
        imageSettings(arch.torchvisionName(), batch, res, width);
        settings.put("queue", k);
        settings.put("dim", dim);
        settings.put("bn_splits", splits);
        settings.put("margin", MARGIN);
        settings.put("tau", TAU);
        settings.put("momentum_encoder", ETA);
        settings.put("key_shuffle", false);
        settings.put("seed", o.seed());
        Rng rng = new Rng(o.seed());
        int s = splits;
        NormFactory norm = s > 1 ? NormFactory.splitBatchNorm(s) : NormFactory.batchNorm();
        encQ = building(() -> ResNet.builder(arch).numClasses(dim).widthMultiplier(width).norm(norm).mlpHead(true).build(rng.fork(1)));
        encK = building(() -> ResNet.builder(arch).numClasses(dim).widthMultiplier(width).norm(norm).mlpHead(true).build(rng.fork(1)));
        encK.requiresGrad(false);
        encQ.train();
        encK.train();
        Map<String, Tensor> pk = encK.namedParameters();
        encQ.namedParameters().forEach((name, p) -> paramPairs.add(new Tensor[]{p, pk.get(name)}));
        sgd = building(() -> Sgd.builder(0.03).momentum(0.9).weightDecay(1e-4).group(encQ.namedParameters()).build());
        xq = images(rng.fork(2), batch, res);
        xk = images(rng.fork(3), batch, res);
        Tensor raw = Tensor.of(backend, rng.fork(4).normal(k * dim, 0, 1), k, dim);
        queue = Tensor.zeros(backend, k, dim);
        try (var ng = GradMode.noGrad(); Scope tmp = Scope.open("queue init")) {
            queue.copyFrom(Norm.l2Normalize(raw));
        }
        ptr = Tensor.ofLongs(backend, new long[]{0}, 1);
        lossOut = Tensor.zeros(backend, 1);
    }

    @Override
    public String name() { return "moco-step"; }

    @Override
    public List<Workload> workloads() { return List.of(new Workload("moco_step", batch, this::mocoStep)); }

    private void mocoStep() {
        try (Scope s = Scope.open("step")) {
            Tensor q, k;
            try (var r = range("query forward")) {
                q = Norm.l2Normalize(encQ.forward(xq));
            }
            try (var ng = GradMode.noGrad(); var r = range("key encoder")) {
                for (Tensor[] pair : paramPairs) backend.axpby(ETA, pair[1], 1 - ETA, pair[0], pair[1]);
                k = Norm.l2Normalize(encK.forward(xk));
            }
            Contrastive.InfoNce loss;
            try (var r = range("margin-infonce")) {
                loss = Contrastive.marginInfoNce(q, k, queue, MARGIN, TAU);
            }
            backwardAndUpdate(loss.loss(), sgd, lossOut);
            Contrastive.enqueue(queue, k, ptr);
        }
    }

    @Override
    public Map<String, float[]> fingerprint() {
        Map<String, float[]> m = new LinkedHashMap<>();
        values(encQ.stateDict()).forEach((n, v) -> m.put("encoder_q." + n, v));
        values(encK.stateDict()).forEach((n, v) -> m.put("encoder_k." + n, v));
        m.put("queue", queue.toFloatArray());
        m.put("loss", lossOut.toFloatArray());
        return m;
    }
}
