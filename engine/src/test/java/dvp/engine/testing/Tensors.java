package dvp.engine.testing;

import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Test helpers: seeded random tensors and closeness assertions that report the worst element. */
public final class Tensors {
    private Tensors() {}

    public static Backend cpu() { return Backends.cpu(); }

    public static Tensor randn(Rng rng, int... shape) {
        return Tensor.of(cpu(), rng.normal((int) dvp.engine.Shape.numel(shape), 0, 1), shape);
    }

    public static Tensor uniform(Rng rng, double lo, double hi, int... shape) {
        return Tensor.of(cpu(), rng.uniformArray((int) dvp.engine.Shape.numel(shape), lo, hi), shape);
    }

    /** Values whose pairwise gaps exceed minGap (keeps max-pool/ReLU away from ties and kinks). */
    public static float[] distinct(Rng rng, int n, float minGap) {
        int[] perm = rng.permutation(n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (perm[i] - n / 2f) * minGap;
        return v;
    }

    public static Tensor param(Tensor t) { return t.requiresGrad(true); }

    /** max |a-b| <= atol + rtol*|b| element-wise; the message names the worst element. */
    public static double assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (Double.isNaN(actual[i]) != Double.isNaN(expected[i])) fail(what + ": NaN mismatch at " + i);
            double excess = d - (atol + rtol * Math.abs(expected[i]));
            if (excess > 0 && (at < 0 || d > worst)) at = i;
            worst = Math.max(worst, d);
        }
        if (at >= 0) fail(String.format("%s: element %d expected %.7g got %.7g (max abs diff %.3g)", what, at, expected[at], actual[at], worst));
        return worst;
    }

    /** Max relative error max|a-b| / max|b| (the parity suites' figure). */
    public static double relError(float[] expected, float[] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            num = Math.max(num, Math.abs((double) expected[i] - actual[i]));
            den = Math.max(den, Math.abs(expected[i]));
        }
        return den == 0 ? num : num / den;
    }
}
