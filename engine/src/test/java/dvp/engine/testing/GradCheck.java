package dvp.engine.testing;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Reductions;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Central finite differences against autograd. The op's output (any shape) is projected onto a
 * fixed random tensor R, L = sum(out * R), so every output element's gradient path is exercised.
 * The numerical side evaluates L in double on the host from the F32 outputs.
 *
 * <p>Tolerances (F32 engine): with step h, L's rounding noise is about 1e-7·|out|·sqrt(n)/h and
 * the truncation error O(h²); inputs should be O(1) and kept clear of kinks by at least 2h. A
 * wrong backward rule is off by O(|grad|), far above {@code atol + rtol·|grad|}.
 */
public final class GradCheck {
    private final double step;
    private final double atol;
    private final double rtol;
    private final int maxPerInput;

    private GradCheck(double step, double atol, double rtol, int maxPerInput) {
        this.step = step;
        this.atol = atol;
        this.rtol = rtol;
        this.maxPerInput = maxPerInput;
    }

    public static GradCheck defaults() { return new GradCheck(1e-2, 2e-3, 1e-2, 80); }

    public GradCheck step(double h) { return new GradCheck(h, atol, rtol, maxPerInput); }

    public GradCheck tolerance(double atol, double rtol) { return new GradCheck(step, atol, rtol, maxPerInput); }

    public GradCheck maxPerInput(int n) { return new GradCheck(step, atol, rtol, n); }

    /**
     * Checks the gradient of f with respect to every input that requires grad. Returns the max
     * absolute difference seen (for reporting).
     */
    public double check(String op, Function<Tensor[], Tensor> f, Tensor... inputs) {
        double worst = 0;
        try (Scope scope = Scope.open("gradcheck")) {
            Rng rng = new Rng(op.hashCode());
            Tensor out0;
            try (var g = GradMode.noGrad()) {
                out0 = f.apply(inputs);
            }
            float[] r = rng.uniformArray((int) out0.numel(), -1, 1);
            Tensor proj = Tensor.of(out0.backend(), r, out0.shape());
            for (Tensor in : inputs) if (in != null) in.setGrad(null);
            Tensor loss = Reductions.sum(Elementwise.mul(f.apply(inputs), proj));
            loss.backward();
            for (int i = 0; i < inputs.length; i++) {
                Tensor in = inputs[i];
                if (in == null || !in.requiresGrad()) continue;
                if (in.grad() == null) fail(op + ": input " + i + " requires grad but received none");
                float[] analytic = in.grad().toFloatArray();
                float[] x = in.toFloatArray();
                int n = x.length;
                int[] which = n <= maxPerInput ? identity(n) : sample(rng, n, maxPerInput);
                double scale = 0;
                for (float v : analytic) scale = Math.max(scale, Math.abs(v));
                for (int k : which) {
                    float orig = x[k];
                    double up = evaluate(f, inputs, in, x, k, (float) (orig + step), r);
                    double down = evaluate(f, inputs, in, x, k, (float) (orig - step), r);
                    x[k] = orig;
                    overwrite(in, x);
                    double numeric = (up - down) / (2 * step);
                    double diff = Math.abs(numeric - analytic[k]);
                    worst = Math.max(worst, diff);
                    if (diff > atol * Math.max(1, scale) + rtol * Math.abs(numeric))
                        fail(String.format("%s: d/d input%d[%d]: autograd %.6g vs finite difference %.6g (diff %.3g, grad scale %.3g)",
                                op, i, k, analytic[k], numeric, diff, scale));
                }
                in.setGrad(null);
            }
        }
        return worst;
    }

    private double evaluate(Function<Tensor[], Tensor> f, Tensor[] inputs, Tensor in, float[] x, int k, float value, float[] r) {
        x[k] = value;
        overwrite(in, x);
        try (var g = GradMode.noGrad(); Scope s = Scope.open("gradcheck-eval")) {
            float[] out = f.apply(inputs).toFloatArray();
            double acc = 0;
            for (int j = 0; j < out.length; j++) acc += (double) out[j] * r[j];
            return acc;
        }
    }

    private static void overwrite(Tensor t, float[] values) {
        try (Scope s = Scope.open("gradcheck-write")) {
            t.copyFrom(Tensor.of(t.backend(), values, t.shape()));
        }
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    private static int[] sample(Rng rng, int n, int k) {
        int[] p = rng.permutation(n);
        return java.util.Arrays.copyOf(p, k);
    }
}
