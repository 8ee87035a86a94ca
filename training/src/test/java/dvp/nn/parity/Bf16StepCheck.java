package dvp.nn.parity;

import dvp.engine.Bf16;
import dvp.engine.Rng;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.ops.Autocast;
import dvp.engine.spi.Backends;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A training step under bf16 autocast (bf16 activation storage) on the (simulated) device against
 * the same step in fp32 on the CPU reference, with Bf16ResNetStepTest's calibrated tolerance: every
 * tensor of the snapshot passes with e ≤ 3·s + 4u (e = ||d − r||₂ / ||r||₂; s = the larger normwise
 * change of the CPU step when every input element is multiplied by (1 ± u), random signs, two
 * reruns; u = 2^-8). See Bf16ResNetStepTest for the derivation of the factor and the floor.
 * Integer tensors must be equal, and the bf16 step must differ from the device's fp32 step (bf16 ran).
 * In package dvp.nn.parity (test sources of training) to read StepParity.Snapshot's package-private maps.
 */
public final class Bf16StepCheck {
    static final double FACTOR = 3, FLOOR = 4 * Bf16.UNIT_ROUNDOFF;

    private Bf16StepCheck() {}

    private static float[] perturbed(float[] x, Rng rng) {
        float[] p = new float[x.length];
        for (int i = 0; i < x.length; i++) p[i] = (float) (x[i] * (1 + ((rng.nextLong() & 1) == 0 ? 1 : -1) * Bf16.UNIT_ROUNDOFF));
        return p;
    }

    private static double diffNorm(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += ((double) b[i] - a[i]) * ((double) b[i] - a[i]);
        return Math.sqrt(s);
    }

    private static double norm(float[] v) {
        double a = 0;
        for (float x : v) a += (double) x * x;
        return Math.sqrt(a);
    }

    /** Runs the check; returns the table (one line per tensor) for the test's output. */
    public static String check(CudaBackend cuda, StepParity.Step step, float[] input, long seed) {
        StepParity.Snapshot ref = step.run(Backends.cpu(), input.clone());
        List<StepParity.Snapshot> reruns = new ArrayList<>();
        Rng rng = new Rng(seed ^ 0xbf16L);
        for (int k = 0; k < 2; k++) reruns.add(step.run(Backends.cpu(), perturbed(input, rng.fork(k))));
        StepParity.Snapshot bf16;
        try (var on = Autocast.bf16(cuda)) {
            bf16 = step.run(cuda, input.clone());
        }
        StepParity.Snapshot fp32 = step.run(cuda, input.clone());
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        double maxVsFp32 = 0;
        int compared = 0;
        for (String group : ref.values().keySet()) {
            for (Map.Entry<String, float[]> e : ref.values(group).entrySet()) {
                float[] r = e.getValue(), d = bf16.values(group).get(e.getKey());
                double s = 0;
                for (StepParity.Snapshot p : reruns) s = Math.max(s, StepParity.normwise(r, p.values(group).get(e.getKey())));
                double err = StepParity.normwise(r, d), tol = FACTOR * s + FLOOR;
                float[] rv = e.getKey().endsWith("running_mean") ? ref.values(group).get(e.getKey().replace("running_mean", "running_var")) : null;
                if (rv != null && !(err <= tol)) {
                    // A running mean whose reference is cancellation noise: its BN's input has a structurally
                    // zero batch mean (OFD's connector: a 1x1 convolution of a BN output, whose batch mean is
                    // beta = 0), so ||r|| is fp32 roundoff and no relative tolerance exists; bf16 storage of that
                    // BN output moves the batch mean by a few u of the batch's scale. Checked at that scale
                    // instead: ||d - r|| <= 4u·||running_var|| (the same BN's second moment, ~1), where a wrong
                    // mean (off by O(sigma)) still fails.
                    double abs = diffNorm(r, d), scale = norm(rv);
                    tol = FLOOR * scale;
                    err = abs;
                }
                for (float v : d) assertTrue(Float.isFinite(v), group + " " + e.getKey() + ": not finite under bf16");
                maxVsFp32 = Math.max(maxVsFp32, StepParity.normwise(fp32.values(group).get(e.getKey()), d));
                String line = String.format("%-26s %-40s err %.3e  sens %.3e  tol %.3e%s", group, e.getKey(), err, s, tol, rv != null && tol == FLOOR * norm(rv) ? " (absolute, at the BN's scale)" : "");
                table.append('\n').append(line);
                if (!(err <= tol)) failures.add(line);
                compared++;
            }
            for (Map.Entry<String, long[]> e : ref.exact().getOrDefault(group, Map.of()).entrySet())
                assertEquals(java.util.Arrays.toString(e.getValue()), java.util.Arrays.toString(bf16.exact().get(group).get(e.getKey())), e.getKey());
        }
        assertTrue(compared > 0, "compared nothing");
        assertTrue(failures.isEmpty(), "beyond the calibrated bf16 tolerance:\n" + String.join("\n", failures) + "\nall:" + table);
        assertTrue(maxVsFp32 > 1e-4, "the bf16 step must differ from the device's fp32 step by more than fp32 roundoff: " + maxVsFp32);
        return table.toString();
    }
}
