package dvp.training.session;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import dvp.training.checkpoint.Stateful;
import dvp.training.observe.ProgressMode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A tiny but complete trainer on the session infrastructure, for resume tests: linear regression
 * with SGD momentum, shuffled mini-batches (data order from a per-epoch RNG fork), a random mask
 * per step (an RNG whose state must survive), an I64 visit counter, checkpoints every epoch and on
 * Ctrl-C. Everything its future depends on is tracked, so a resumed run must end bit-identical.
 * Also runnable as a process: {@code ToyTrainer runDir totalSteps stepMillis [resume]}.
 */
public final class ToyTrainer {
    static final int N = 64, D = 8, BATCH = 8, STEPS_PER_EPOCH = N / BATCH;

    final Tensor w = Tensor.zeros(Backends.cpu(), D);
    final Tensor velocity = Tensor.zeros(Backends.cpu(), D);
    final Tensor visits = Tensor.ofLongs(Backends.cpu(), new long[N], N);
    private final float[] x = new float[N * D];
    private final float[] y = new float[N];
    private final long seed;
    Rng maskRng;
    long step;

    ToyTrainer(long seed) {
        this.seed = seed;
        Rng data = new Rng(seed);
        float[] truth = data.normal(D, 0, 1);
        for (int i = 0; i < N; i++) {
            float t = 0;
            for (int j = 0; j < D; j++) t += truth[j] * (x[i * D + j] = (float) data.nextGaussian());
            y[i] = t + 0.1f * (float) data.nextGaussian();
        }
        maskRng = new Rng(seed).fork(99);
    }

    /** Runs until totalSteps (or until stopped), starting from --resume if given. Returns the final weights. */
    float[] run(TrainingSession s, long totalSteps, long stepMillis) throws IOException, InterruptedException {
        s.checkpoints()
                .track("model", Stateful.tensors(() -> Map.of("w", w)))
                .track("optimizer", Stateful.tensors(() -> Map.of("momentum.w", velocity)))
                .track("data", Stateful.tensors(() -> Map.of("visits", visits)))
                .track("loop", Stateful.of(out -> out.put("step", step).put("mask_rng", maskRng.state()),
                        in -> {
                            step = in.getLong("step");
                            maskRng = Rng.fromState(in.getLong("mask_rng"));
                        }))
                .keepBestBy("loss", false);
        step = s.resume();
        float lr = 0.05f, mu = 0.9f;
        while (step < totalSteps) {
            long epoch = step / STEPS_PER_EPOCH;
            int pos = (int) (step % STEPS_PER_EPOCH);
            // the data order of an epoch is a pure function of (seed, epoch): nothing to store but the position
            int[] perm = new Rng(seed).fork(1000 + epoch).permutation(N);
            float[] wv = w.toFloatArray(), vv = velocity.toFloatArray();
            long[] counts = visits.toLongArray();
            float[] g = new float[D];
            double loss = 0;
            for (int k = 0; k < BATCH; k++) {
                int i = perm[pos * BATCH + k];
                counts[i]++;
                float pred = 0;
                for (int j = 0; j < D; j++) pred += wv[j] * x[i * D + j];
                float err = pred - y[i];
                loss += 0.5 * err * err / BATCH;
                for (int j = 0; j < D; j++) if (maskRng.bernoulli(0.9)) g[j] += err * x[i * D + j] / BATCH;
            }
            for (int j = 0; j < D; j++) {
                vv[j] = mu * vv[j] + g[j];
                wv[j] -= lr * vv[j];
            }
            try (Scope sc = Scope.open("step")) {
                w.copyFrom(Tensor.of(Backends.cpu(), wv, D));
                velocity.copyFrom(Tensor.of(Backends.cpu(), vv, D));
                visits.copyFrom(Tensor.ofLongs(Backends.cpu(), counts, N));
            }
            step++;
            s.guard().check(step, "loss", loss);
            s.metrics().row("train", step).put("loss", loss).log();
            if (step % STEPS_PER_EPOCH == 0) s.checkpoints().save(step, step / STEPS_PER_EPOCH, Map.of("loss", loss));
            s.stopIfRequested(step, epoch);
            if (stepMillis > 0) Thread.sleep(stepMillis);
        }
        return w.toFloatArray();
    }

    static SessionOptions options(Path runDir, Path resume) {
        return SessionOptions.defaults().withRunDir(runDir).withResume(resume).withProgress(ProgressMode.NONE);
    }

    static Map<String, Object> config(long totalSteps) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("model", "toy-linear");
        c.put("steps", totalSteps);
        return c;
    }

    public static void main(String[] args) throws Exception {
        Path runDir = Path.of(args[0]);
        long total = Long.parseLong(args[1]);
        long stepMillis = Long.parseLong(args[2]);
        Path resume = args.length > 3 ? Path.of(args[3]) : null;
        float[] w;
        try (TrainingSession s = TrainingSession.open("toy", options(runDir, resume), config(total), Backends.cpu())) {
            w = new ToyTrainer(7).run(s, total, stepMillis);
        }
        StringBuilder sb = new StringBuilder();
        for (float f : w) sb.append(Integer.toHexString(Float.floatToRawIntBits(f))).append('\n');
        Files.writeString(runDir.resolve("final.txt"), sb.toString());
    }
}
