package dvp.bench;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Distill;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The shapes of {@link MarginInfoNceBench} and {@link OfdLossBench}, timed by the <b>CPU time of
 * the calling thread</b> (best of R calls after warm-up) with the kernels run on that thread only
 * (start the JVM with -Ddvp.threads=1). On a machine shared with other jobs, wall-clock JMH
 * scores mostly measure the contention; CPU time measures the work. Its PyTorch counterpart is
 * {@code bench/pytorch/loss_baseline.py --cpu-time}.
 */
public final class LossCpuTime {
    private LossCpuTime() {}

    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private static double best(int warmup, int reps, Runnable r) {
        for (int i = 0; i < warmup; i++) r.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = MX.getCurrentThreadCpuTime();
            r.run();
            best = Math.min(best, (MX.getCurrentThreadCpuTime() - t0) / 1e6);
        }
        return best;
    }

    public static void main(String[] args) {
        if (!"1".equals(System.getProperty("dvp.threads")))
            System.out.println("note: run with -Ddvp.threads=1, otherwise worker threads' CPU time is not counted");
        Backend be = Backends.cpu();
        try (Scope s = Scope.open("cputime")) {
            Rng rng = new Rng(1);
            int n = MarginInfoNceBench.N, d = MarginInfoNceBench.D;
            for (int k : new int[]{4096, 16384, 65536}) {
                Tensor q = MarginInfoNceBench.unitRows(be, rng, n, d), kp = MarginInfoNceBench.unitRows(be, rng, n, d);
                Tensor keys = MarginInfoNceBench.unitRows(be, rng, k, d);
                Tensor loss = Tensor.empty(be, DType.F32), acc = Tensor.empty(be, DType.F32), dq = Tensor.empty(be, DType.F32, n, d);
                int reps = k >= 65536 ? 8 : 30;
                double grad = best(reps, reps, () -> be.marginInfoNceForward(q, kp, keys, 0.4f, 0.2f, loss, acc, dq));
                double plain = best(reps, reps, () -> be.marginInfoNceForward(q, kp, keys, 0.4f, 0.2f, loss, acc, null));
                System.out.printf("margin-infonce N=%d d=%d K=%-6d loss+acc+dq %8.3f ms (%5.1f GFLOP/s)   loss+acc %8.3f ms%n",
                        n, d, k, grad, 4.0 * n * k * d / grad / 1e6, plain);
            }
            for (int stage = 1; stage <= 4; stage++) {
                int c = 256 << (stage - 1), hw = 56 >> (stage - 1), b = 8;
                long el = (long) b * c * hw * hw;
                Tensor st = Tensor.of(be, rng.normal((int) el, 0, 1), b, c, hw, hw), tt = Tensor.of(be, rng.normal((int) el, 0, 1), b, c, hw, hw);
                Tensor m = Distill.ofdMargin(Tensor.of(be, rng.normal(c, 0, 1), c), Tensor.of(be, rng.normal(c, 0, 1), c));
                Tensor loss = Tensor.empty(be, DType.F32), g = Tensor.scalar(be, 1e-4f);
                Tensor ds = Tensor.empty(be, DType.F32, b, c, hw, hw), copy = Tensor.empty(be, DType.F32, b, c, hw, hw);
                int cs = hw * hw;
                double fwd = best(20, 20, () -> be.ofdLossForward(st, tt, m, 0.125f, cs, loss));
                double bwd = best(20, 20, () -> be.ofdLossBackward(st, tt, m, 0.125f, cs, g, ds));
                double cp = best(20, 20, () -> be.copy(st, copy));
                System.out.printf("ofd stage%d [%d,%d,%d,%d] forward %7.3f ms (%4.1f GB/s)  backward %7.3f ms (%4.1f GB/s)  copy %7.3f ms (%4.1f GB/s)%n",
                        stage, b, c, hw, hw, fwd, 8e-6 * el / fwd, bwd, 12e-6 * el / bwd, cp, 8e-6 * el / cp);
            }
        }
    }
}
