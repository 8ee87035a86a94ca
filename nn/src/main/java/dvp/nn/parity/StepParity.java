package dvp.nn.parity;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.parity.ParityResult;
import dvp.engine.spi.Backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A whole training step (or any computation from one input array to many named tensors) on a device
 * backend against the same step on a reference backend, tensor by tensor, each with a tolerance
 * calibrated by the reference's own sensitivity. Used by the CUDA step tests (ResNet, MoCo, OFD)
 * and by {@code dvp selftest --resnet50}.
 *
 * <p><b>Why calibrated.</b> A device computes the same step with sums in another order, so its
 * results differ from the reference's by rounding, amplified by everything downstream. How much a
 * step amplifies depends on the network and the batch: with two images of 64 px, ResNet-50's last
 * batch norms normalise 8 values per channel, and one ulp of change in the input moves its gradients
 * by up to 1.4% (normwise; 0.8% on average over the 161 tensors; the self-test's seed). No fixed tolerance fits every tensor of every step: a tight
 * one rejects a correct device, a loose one hides a broken kernel in a well-conditioned tensor.
 * So the reference measures its own sensitivity: it runs the step again with every input element
 * moved up or down (random signs, seeded) by one ulp, and twice by {@value #WIDE_ULPS} ulps
 * ({@link #PERTURBATION_ULPS}).
 *
 * <p>Why also {@value #WIDE_ULPS} ulps: a device's reordered sums perturb every layer, and a sum of
 * K terms reordered changes by ~√K ulps; for a ResNet's stem (K = 3·7·7 = 147) that is ~12 ulps of
 * its outputs, which moving the input by {@value #WIDE_ULPS} ulps reproduces. Discrete events then
 * happen on the device that a one-ulp change almost never causes: a ReLU input within rounding of
 * zero changes side, two max-pool candidates within rounding of each other change order, and the
 * gradient behind them moves by far more than the roundoff. Measured (ResNet-18, batch 4 at 32 px,
 * on the simulated device): one-ulp reruns moved layer1.0.bn1.bias's gradient by 5e-5 in six of six
 * seeds, four-ulp reruns by 1.5e-3 in three of six, sixteen-ulp reruns by 1.5e-3 in six of six, and
 * the device by 1.5e-3.
 *
 * <p><b>The test, per tensor.</b> With r the reference, d the device and p_k the perturbed reruns:
 * error e = ||d - r||₂ / ||r||₂, sensitivity s = max_k ||p_k - r||₂ / ||r||₂, and the device
 * passes when e &le; {@value #FACTOR}·s + {@link #FLOOR}. The factor: the device perturbs every
 * layer, not only the input, so its error may exceed the reruns' by a small factor. The floor,
 * {@value #FLOOR_ULPS} units of fp32 roundoff (u = 2⁻²⁴): covers tensors whose sensitivity to the
 * input happens to be small, where the device's own last roundings dominate (a sum of K terms
 * reordered changes by ~√K·u relative; K reaches 4608 = 512·3·3 in a ResNet's last convolutions,
 * √K·u ≈ 68u, compounded over a few layers); 256u ≈ 1.5e-5 is still three orders of magnitude
 * below what a wrong kernel produces. Integer values (step counters, queue pointers) must be equal.
 * A NaN or infinity where the reference has a finite value fails. (The primitives themselves are
 * held to far tighter tolerances by the backend parity suite; this comparison checks that whole
 * steps put them together correctly.)
 */
public final class StepParity {
    /** The wide perturbation, in ulps (see the class comment). */
    public static final int WIDE_ULPS = 16;
    /** The reference's reruns: each input element moved by this many ulps, up or down at random. */
    public static final List<Integer> PERTURBATION_ULPS = List.of(1, WIDE_ULPS, WIDE_ULPS);
    /** How many times the reference's ulp-sensitivity a device's error may be. */
    public static final double FACTOR = 3.0;
    /** The floor in units of fp32 roundoff u = 2^-24 (see the class comment). */
    public static final int FLOOR_ULPS = 256;
    public static final double FLOOR = FLOOR_ULPS * 0x1p-24;

    private StepParity() {}

    /** What one run of a step produced, copied to the host: named values in groups, in order. */
    public static final class Snapshot {
        private final Map<String, Map<String, float[]>> values = new LinkedHashMap<>();
        private final Map<String, Map<String, long[]>> exact = new LinkedHashMap<>();

        /** Copies t to the host under group/name: floating values to compare normwise, integers exactly. */
        public Snapshot put(String group, String name, Tensor t) {
            if (t.dtype() == DType.F32) {
                values.computeIfAbsent(group, k -> new LinkedHashMap<>()).put(name, t.toFloatArray());
            } else if (t.dtype().isFloating()) {
                throw new IllegalArgumentException("step parity: " + group + "/" + name + " is " + t.describe() + "; compare F32 values");
            } else {
                exact.computeIfAbsent(group, k -> new LinkedHashMap<>()).put(name, t.toLongArray());
            }
            return this;
        }

        public Snapshot put(String group, String name, float[] host) {
            values.computeIfAbsent(group, k -> new LinkedHashMap<>()).put(name, host.clone());
            return this;
        }

        public Snapshot putAll(String group, Map<String, Tensor> named) {
            named.forEach((n, t) -> put(group, n, t));
            return this;
        }

        /** The gradients of named parameters; a missing gradient is recorded as such (it must be missing on both sides). */
        public Snapshot putGrads(String group, Map<String, Tensor> params) {
            params.forEach((n, p) -> {
                if (p.grad() != null) put(group, n, p.grad());
                else exact.computeIfAbsent(group, k -> new LinkedHashMap<>()).put(n + " (no gradient)", new long[0]);
            });
            return this;
        }

        /** The floating values of one group, name → host copy (empty if the group has none). */
        public Map<String, float[]> values(String group) { return java.util.Collections.unmodifiableMap(values.getOrDefault(group, Map.of())); }

        Map<String, Map<String, float[]>> values() { return values; }

        Map<String, Map<String, long[]>> exact() { return exact; }
    }

    /** A step: runs on the backend with the given input values and returns what it produced. */
    @FunctionalInterface
    public interface Step {
        Snapshot run(Backend backend, float[] input);
    }

    /** One compared tensor. */
    public record Row(String group, String name, long numel, double error, double sensitivity, double tolerance, boolean pass, String note) {
        public String line() {
            return String.format(Locale.ROOT, "%-20s %-44s %9d  err %9.3e  sens %9.3e  tol %9.3e  %s%s", group, name, numel, error, sensitivity,
                    tolerance, pass ? "PASS" : "FAIL", note.isEmpty() ? "" : "  " + note);
        }
    }

    /** Every compared tensor. */
    public record Report(List<Row> rows) {
        public boolean pass() { return rows.stream().allMatch(Row::pass); }

        public List<Row> failures() { return rows.stream().filter(r -> !r.pass()).toList(); }

        /** The groups in order. */
        public List<String> groups() { return rows.stream().map(Row::group).distinct().toList(); }

        /**
         * One {@link ParityResult} per group for the self-test's table: the tensor nearest its
         * tolerance (highest error / tolerance), and how many tensors were compared or failed.
         */
        public List<ParityResult> summary(String op) {
            List<ParityResult> out = new ArrayList<>();
            for (String g : groups()) {
                List<Row> rs = rows.stream().filter(r -> r.group().equals(g)).toList();
                Row worst = rs.getFirst();
                for (Row r : rs) if (ratio(r) > ratio(worst)) worst = r;
                long failed = rs.stream().filter(r -> !r.pass()).count();
                String note = (failed > 0 ? failed + " of " + rs.size() + " failed; " : "") + "worst " + worst.name()
                        + String.format(Locale.ROOT, " (sensitivity %.2e)", worst.sensitivity()) + (worst.note().isEmpty() ? "" : ": " + worst.note());
                out.add(new ParityResult(op, g, rs.size() + " tensors", worst.error(), worst.tolerance(), failed == 0, note));
            }
            return out;
        }

        private static double ratio(Row r) {
            if (!r.pass()) return Double.POSITIVE_INFINITY;
            return r.tolerance() > 0 ? r.error() / r.tolerance() : r.error() == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
    }

    /**
     * Runs {@code step} on the reference with {@code input}, on the reference again with the
     * perturbed copies of it ({@link #PERTURBATION_ULPS}, signs seeded by {@code seed}), and on the
     * device with {@code input}; compares every tensor.
     */
    public static Report compare(Backend reference, Backend device, float[] input, Step step, long seed) {
        Snapshot ref = step.run(reference, input.clone());
        List<Snapshot> perturbed = new ArrayList<>();
        for (float[] p : perturbations(input, seed)) perturbed.add(step.run(reference, p));
        Snapshot dut = step.run(device, input.clone());
        return compare(ref, perturbed, dut);
    }

    /** The perturbed inputs the reference reruns: one per {@link #PERTURBATION_ULPS} entry. */
    public static List<float[]> perturbations(float[] input, long seed) {
        Rng rng = new Rng(seed ^ 0x5e45171e17L);
        List<float[]> out = new ArrayList<>();
        for (int k = 0; k < PERTURBATION_ULPS.size(); k++) out.add(perturb(input, PERTURBATION_ULPS.get(k), rng.fork(k)));
        return out;
    }

    /** Compares a device snapshot with the reference's, calibrated by the perturbed reference reruns. */
    public static Report compare(Snapshot ref, List<Snapshot> perturbed, Snapshot dut) {
        if (perturbed.isEmpty()) throw new IllegalArgumentException("step parity: no perturbed reference runs to calibrate against");
        List<Row> rows = new ArrayList<>();
        List<String> groups = new ArrayList<>(ref.values().keySet());
        for (String g : ref.exact().keySet()) if (!groups.contains(g)) groups.add(g);
        for (String g : dut.values().keySet()) if (!groups.contains(g)) groups.add(g);
        for (String g : groups) {
            Map<String, float[]> rv = ref.values().getOrDefault(g, Map.of()), dv = dut.values().getOrDefault(g, Map.of());
            for (var e : rv.entrySet()) {
                String name = e.getKey();
                float[] r = e.getValue(), d = dv.get(name);
                if (d == null) {
                    rows.add(new Row(g, name, r.length, Double.POSITIVE_INFINITY, 0, 0, false, "missing on the device"));
                    continue;
                }
                if (d.length != r.length) {
                    rows.add(new Row(g, name, r.length, Double.POSITIVE_INFINITY, 0, 0, false, "sizes differ: " + r.length + " vs " + d.length));
                    continue;
                }
                double s = 0;
                for (Snapshot p : perturbed) {
                    float[] pv = p.values().getOrDefault(g, Map.of()).get(name);
                    if (pv == null || pv.length != r.length)
                        throw new IllegalStateException("step parity: the perturbed reference run has no " + g + "/" + name);
                    s = Math.max(s, normwise(r, pv));
                }
                double err = normwise(r, d), tol = FACTOR * s + FLOOR;
                boolean pass = err <= tol;
                rows.add(new Row(g, name, r.length, err, s, tol, pass, pass ? "" : worstElement(r, d)));
            }
            for (String name : dv.keySet())
                if (!rv.containsKey(name)) rows.add(new Row(g, name, dv.get(name).length, Double.POSITIVE_INFINITY, 0, 0, false, "missing on the reference"));
            Map<String, long[]> re = ref.exact().getOrDefault(g, Map.of()), de = dut.exact().getOrDefault(g, Map.of());
            for (var e : re.entrySet()) {
                long[] d = de.get(e.getKey());
                boolean same = d != null && Arrays.equals(e.getValue(), d);
                rows.add(new Row(g, e.getKey(), e.getValue().length, same ? 0 : Double.POSITIVE_INFINITY, 0, 0, same,
                        same ? "" : "exact values differ: " + Arrays.toString(head(e.getValue())) + " vs " + (d == null ? "missing" : Arrays.toString(head(d)))));
            }
            for (String name : de.keySet())
                if (!re.containsKey(name)) rows.add(new Row(g, name, de.get(name).length, Double.POSITIVE_INFINITY, 0, 0, false, "missing on the reference"));
        }
        return new Report(rows);
    }

    /**
     * ||b - a||₂ / ||a||₂ (0 when both are all zero; infinite when a NaN or infinity appears in b
     * where a is finite, or the reference is zero and b is not).
     */
    public static double normwise(float[] a, float[] b) {
        double diff = 0, norm = 0;
        for (int i = 0; i < a.length; i++) {
            boolean fa = Float.isFinite(a[i]), fb = Float.isFinite(b[i]);
            if (!fa || !fb) {
                if (fa != fb || Float.floatToIntBits(a[i]) != Float.floatToIntBits(b[i]) && !(Float.isNaN(a[i]) && Float.isNaN(b[i])))
                    return Double.POSITIVE_INFINITY;
                continue;
            }
            double d = (double) b[i] - a[i];
            diff += d * d;
            norm += (double) a[i] * a[i];
        }
        if (diff == 0) return 0;
        return norm == 0 ? Double.POSITIVE_INFINITY : Math.sqrt(diff / norm);
    }

    /** Every element moved by {@code ulps} ulps, up or down at random (signs from rng). */
    public static float[] perturb(float[] x, int ulps, Rng rng) {
        float[] p = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            boolean up = (rng.nextLong() & 1) == 0;
            float v = x[i];
            for (int k = 0; k < ulps; k++) v = up ? Math.nextUp(v) : Math.nextDown(v);
            p[i] = v;
        }
        return p;
    }

    private static String worstElement(float[] r, float[] d) {
        int at = 0;
        double worst = -1;
        for (int i = 0; i < r.length; i++) {
            double e = Float.isFinite(d[i]) ? Math.abs((double) d[i] - r[i]) : Double.POSITIVE_INFINITY;
            if (e > worst) {
                worst = e;
                at = i;
            }
        }
        return "largest difference at [" + at + "]: reference " + r[at] + ", device " + d[at];
    }

    private static long[] head(long[] v) { return Arrays.copyOf(v, Math.min(v.length, 4)); }
}
