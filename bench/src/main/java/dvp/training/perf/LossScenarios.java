package dvp.training.perf;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Contrastive;
import dvp.engine.ops.Distill;
import dvp.engine.ops.Norm;
import dvp.engine.spi.Backend;
import dvp.nn.Grads;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The fused losses alone, forward + backward through the ops (as a training step calls them). */
final class LossScenarios {
    private LossScenarios() {}

    /** {@code margin-infonce}: N queries of dimension 128 against K queue keys, loss + query gradient. */
    static final class MarginInfoNce extends Scenario {
        private final Tensor q, kPos, queue;
        private final List<Workload> workloads;

        MarginInfoNce(Backend backend, ScenarioOptions o) {
            super(backend);
            int n = o.batchOr(32, 256, onGpu()), k = o.queueOr(4096, 65536, onGpu()), d = 128;
            settings.put("batch", n);
            settings.put("queue", k);
            settings.put("dim", d);
            settings.put("margin", MocoStepScenario.MARGIN);
            settings.put("tau", MocoStepScenario.TAU);
            settings.put("seed", o.seed());
            Rng rng = new Rng(o.seed());
            try (var ng = GradMode.noGrad()) {
                q = unitRows(backend, rng.fork(1), n, d).requiresGrad(true);
                kPos = unitRows(backend, rng.fork(2), n, d);
                queue = unitRows(backend, rng.fork(3), k, d);
            }
            workloads = List.of(new Workload("margin_infonce forward+backward N=" + n + " K=" + k + " d=" + d, 0, this::run));
        }

        private static Tensor unitRows(Backend be, Rng rng, int rows, int d) {
            Tensor t = Tensor.zeros(be, rows, d);
            try (Scope s = Scope.open()) {
                t.copyFrom(Norm.l2Normalize(Tensor.of(be, rng.normal(rows * d, 0, 1), rows, d)));
            }
            return t;
        }

        private void run() {
            Grads.zero(q);
            try (Scope s = Scope.open("step")) {
                Contrastive.marginInfoNce(q, kPos, queue, MocoStepScenario.MARGIN, MocoStepScenario.TAU).loss().backward();
            }
        }

        @Override public String name() { return "margin-infonce"; }

        @Override public List<Workload> workloads() { return workloads; }

        @Override
        public Map<String, float[]> fingerprint() {
            return q.grad() == null ? Map.of() : Map.of("dq", q.grad().toFloatArray());
        }
    }

    /** {@code ofd-loss}: the OFD loss at ResNet-50's four stage shapes, forward + backward. */
    static final class OfdLoss extends Scenario {
        private final List<Workload> workloads = new ArrayList<>();
        private final List<Tensor> students = new ArrayList<>();

        OfdLoss(Backend backend, ScenarioOptions o) {
            super(backend);
            int n = o.batchOr(8, 256, onGpu()), res = o.resolutionOr(64, 224, onGpu());
            settings.put("batch", n);
            settings.put("resolution", res);
            settings.put("seed", o.seed());
            Rng rng = new Rng(o.seed());
            List<String> shapes = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int c = 256 << i, h = Math.max(1, res / (4 << i));
                Tensor s = Tensor.of(backend, rng.normal(n * c * h * h, 0, 1), n, c, h, h).requiresGrad(true);
                Tensor t = Tensor.of(backend, rng.normal(n * c * h * h, 0, 1), n, c, h, h);
                float[] gamma = new float[c], beta = new float[c];
                for (int j = 0; j < c; j++) {
                    gamma[j] = 0.5f + rng.nextFloat();
                    beta[j] = rng.nextFloat() - 0.5f;
                }
                Tensor margin = Distill.ofdMargin(Tensor.of(backend, gamma, c), Tensor.of(backend, beta, c));
                float w = (float) (Math.pow(2, -(3 - i)) / (n * 1e4));
                String shape = "[" + n + "," + c + "," + h + "," + h + "]";
                shapes.add(shape);
                students.add(s);
                workloads.add(new Workload("ofd_loss forward+backward " + shape, 0, () -> {
                    Grads.zero(s);
                    try (Scope sc = Scope.open("step")) {
                        Distill.ofdLoss(s, t, margin, w).backward();
                    }
                }));
            }
            settings.put("shapes", shapes);
        }

        @Override public String name() { return "ofd-loss"; }

        @Override public List<Workload> workloads() { return workloads; }

        @Override
        public Map<String, float[]> fingerprint() {
            Map<String, float[]> m = new LinkedHashMap<>();
            for (int i = 0; i < students.size(); i++) if (students.get(i).grad() != null) m.put("ds" + i, students.get(i).grad().toFloatArray());
            return m;
        }
    }
}
