package dvp.nn.parity;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.randn;

/**
 * torch.optim.SGD against dvp's Sgd: (1) three steps on bare parameters with given gradients, per
 * configuration (plain; momentum with dampening and weight decay; Nesterov with weight decay; a
 * second parameter group for fc with its own lr), comparing the parameters after every step;
 * (2) three real training steps of a ResNet-18 (cross-entropy, Nesterov, weight decay, an fc group)
 * from the same weights and batches, torch taking dvp's ReLU and max-pool decisions, comparing all
 * weights, BN buffers, momentum buffers and the last step's gradients.
 */
class SgdParityTest {
    /** Batch of the ResNet-18 steps: at 32 (not 2) batch norm's backward is well-conditioned, so fp32 can meet 1e-4 (see ModelParityTest). */
    private static final int BATCH = 32;
    private Scope scope;
    private final Rng rng = new Rng(31);

    @BeforeEach void open() { scope = Scope.open("sgd-parity"); }

    @AfterEach void close() { scope.close(); }

    @ParameterizedTest(name = "sgd fixed grads lr={0} momentum={1} dampening={2} wd={3} nesterov={4} fc_lr={5}")
    @CsvSource({
            "0.1, 0, 0, 0, false, -1",
            "0.05, 0.9, 0.1, 5e-4, false, -1",
            "0.1, 0.9, 0, 1e-4, true, -1",
            "0.1, 0.9, 0, 1e-4, true, 1.0"
    })
    void fixedGradients(double lr, double momentum, double dampening, double wd, boolean nesterov, double fcLr) throws Exception {
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("conv.weight", randn(rng, 4, 3, 3, 3).requiresGrad(true));
        params.put("bn.weight", randn(rng, 4).requiresGrad(true));
        params.put("fc.weight", randn(rng, 5, 4).requiresGrad(true));
        params.put("fc.bias", randn(rng, 5).requiresGrad(true));
        ParityCase c = ParityCase.named(String.format("sgd fixed grads lr%s m%s d%s wd%s%s%s", lr, momentum, dampening, wd,
                        nesterov ? " nesterov" : "", fcLr > 0 ? " fc_lr" + fcLr : ""))
                .meta("run", "sgd_fixed_grads").meta("steps", 3).meta("lr", lr).meta("momentum", momentum)
                .meta("dampening", dampening).meta("weight_decay", wd).meta("nesterov", nesterov);
        if (fcLr > 0) c.meta("fc_lr", fcLr);
        params.forEach((k, v) -> c.tensor("p." + k, v));
        List<Map<String, Tensor>> grads = List.of(randomLike(params), randomLike(params), randomLike(params));
        for (int k = 0; k < 3; k++) for (var e : grads.get(k).entrySet()) c.tensor("g" + k + "." + e.getKey(), e.getValue());
        ParityCase.Reference ref = c.run();

        try (Sgd opt = sgd(lr, momentum, dampening, wd, nesterov, fcLr, params)) {
            ParityCheck check = new ParityCheck(ref);
            for (int k = 0; k < 3; k++) {
                for (var e : params.entrySet()) e.getValue().setGrad(grads.get(k).get(e.getKey()));
                opt.step();
                for (var e : params.entrySet()) check.floats("p" + k + "." + e.getKey(), e.getValue());
            }
            check.assertWithin(ParityCheck.TOLERANCE);
        }
    }

    @Test void threeTrainingStepsOfAResNet18() throws Exception {
        ResNet m = ResNet.builder(ResNet.Arch.RESNET18).numClasses(10).build(rng);
        ForwardBackward.randomizeBatchNorms(m, rng);
        double lr = 0.02, momentum = 0.9, wd = 5e-4, fcLr = 0.1;
        int steps = 3;
        float smoothing = 0.1f;
        ParityCase c = ParityCase.named("sgd 3 steps resnet18 nesterov wd fc_lr").meta("run", "sgd_steps").meta("steps", steps)
                .meta("module", "torchvision").meta("arch", "resnet18").meta("classes", 10).meta("lr", lr).meta("momentum", momentum)
                .meta("weight_decay", wd).meta("nesterov", true).meta("fc_lr", fcLr).meta("smoothing", smoothing)
                .meta("float64", true).state(m.stateDict());
        m.train();
        SharedDecisions decisions = new SharedDecisions(c, m);
        try (Sgd opt = sgd(lr, momentum, 0, wd, true, fcLr, m.namedParameters())) {
            for (int k = 0; k < steps; k++) {
                Tensor x = randn(rng, BATCH, 3, 64, 64);
                long[] labels = new long[BATCH];
                for (int i = 0; i < BATCH; i++) labels[i] = rng.nextInt(10);
                Tensor y = Tensor.ofLongs(cpu(), labels, BATCH);
                c.tensor("x" + k, x).tensor("labels" + k, y);
                try (Scope step = Scope.open("step")) {
                    opt.zeroGrad();
                    Tensor loss = Losses.crossEntropy(m.forward(x), y, smoothing);
                    decisions.record(loss);
                    loss.backward();
                    opt.step();
                }
            }
            decisions.finish();
            ParityCase.Reference ref = c.run();
            // the weights and BN buffers (what the steps produce) and the optimizer's inputs, reported apart
            ParityCheck weights = new ParityCheck(ref, "weights and buffers");
            m.stateDict().forEach((k, v) -> {
                if (v.dtype() == dvp.engine.DType.I64) weights.longs("state." + k, v);
                else weights.floats("state." + k, v);
            });
            ParityCheck optimizer = new ParityCheck(ref, "momentum buffers and last gradients");
            opt.momentumBuffers().forEach((k, v) -> optimizer.floats("momentum." + k, v));
            m.namedParameters().forEach((k, v) -> optimizer.floats("grad." + k, v.grad()));
            weights.decisions(ForwardBackward.KINK_MARGIN).assertWithin(ParityCheck.TOLERANCE);
            optimizer.decisions(ForwardBackward.KINK_MARGIN).assertWithin(ParityCheck.TOLERANCE);
        }
    }

    private static Sgd sgd(double lr, double momentum, double dampening, double wd, boolean nesterov, double fcLr, Map<String, Tensor> params) {
        Sgd.Builder b = Sgd.builder(lr).momentum(momentum).dampening(dampening).weightDecay(wd).nesterov(nesterov);
        if (fcLr <= 0) return b.group(params).build();
        Map<String, Tensor> rest = new LinkedHashMap<>(), fc = new LinkedHashMap<>();
        params.forEach((k, v) -> (k.startsWith("fc.") ? fc : rest).put(k, v));
        return b.group(rest).group(fc, h -> h.withLr(fcLr)).build();
    }

    private Map<String, Tensor> randomLike(Map<String, Tensor> params) {
        Map<String, Tensor> g = new LinkedHashMap<>();
        params.forEach((k, v) -> g.put(k, randn(rng, v.shape())));
        return g;
    }
}
