package dvp.engine.testing;

import dvp.engine.Scope;
import dvp.engine.cpu.CpuConvChoice;
import dvp.engine.cpu.Parallel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the same CPU work with its parallel loops cut into 1, 2, 3 and 5 pieces ({@link Parallel#withSplit},
 * what the thread count decides in production) and asserts that every output has exactly the same bits
 * as with one piece. A last run with one piece again tells a result that depends on the JIT tier (the
 * first runs are interpreted or C1-compiled, later ones C2) from one that depends on the split.
 * Convolutions run dvp's java kernels here ({@link CpuConvChoice#withJavaKernels}): the split
 * independence is their promise; oneDNN's threads are not cut by {@link Parallel#withSplit}.
 */
public final class SplitBits {
    /** Odd counts cut ranges unevenly; 5 is more pieces than a 2-core pool has threads. */
    public static final int[] PIECES = {1, 2, 3, 5, 1};
    /** Differing outputs named in a failure message (a whole network can differ everywhere). */
    private static final int MAX_LISTED = 24;

    private SplitBits() {}

    /**
     * When set, every {@link #assertSplitIndependent} case also stores its one-piece outputs here under
     * "case: output" (VectorWidthBitsMain prints them to compare JVMs with different vector widths).
     */
    public static volatile Map<String, float[]> recorder;

    /** Named outputs of one run, in the order the work produced them. */
    public static final class Outputs {
        private final Map<String, float[]> values = new LinkedHashMap<>();

        public void put(String name, float[] v) {
            if (values.putIfAbsent(name, v.clone()) != null) throw new IllegalArgumentException("duplicate output name " + name);
        }

        public void put(String name, float v) { put(name, new float[]{v}); }
    }

    /**
     * work runs once per entry of {@link #PIECES}, each time in a fresh scope on the calling thread, and
     * records its outputs; every differing output of every run is listed in one failure message.
     */
    public static void assertSplitIndependent(String what, Consumer<Outputs> work) {
        List<Outputs> runs = new ArrayList<>();
        for (int pieces : PIECES) {
            Outputs out = new Outputs();
            Parallel.withSplit(pieces, () -> CpuConvChoice.withJavaKernels(() -> {
                try (Scope s = Scope.open("split-bits")) {
                    work.accept(out);
                }
            }));
            runs.add(out);
        }
        Outputs reference = runs.getFirst();
        Map<String, float[]> rec = recorder;
        if (rec != null) reference.values.forEach((k, v) -> rec.put(what + ": " + k, v));
        List<String> problems = new ArrayList<>();
        for (int r = 1; r < runs.size(); r++) {
            Outputs run = runs.get(r);
            assertEquals(reference.values.keySet(), run.values.keySet(), what + ": outputs of run " + r);
            for (var e : reference.values.entrySet()) {
                String diff = diff(e.getValue(), run.values.get(e.getKey()));
                if (diff != null)
                    problems.add(e.getKey() + " with " + PIECES[r] + (r == runs.size() - 1 ? " piece (again)" : " pieces") + " vs 1: " + diff);
            }
        }
        if (problems.size() > MAX_LISTED) {
            int more = problems.size() - MAX_LISTED;
            problems.subList(MAX_LISTED, problems.size()).clear();
            problems.add("... and " + more + " more");
        }
        if (!problems.isEmpty()) fail(what + ": results depend on how the work is split:\n  " + String.join("\n  ", problems));
    }

    /** null when a and b have the same bits, else how many elements differ, the first and the largest difference. */
    static String diff(float[] a, float[] b) {
        if (a.length != b.length) return "length " + a.length + " vs " + b.length;
        int count = 0, first = -1, worst = -1;
        double worstDiff = -1;
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) == Float.floatToRawIntBits(b[i])) continue;
            count++;
            if (first < 0) first = i;
            double d = Math.abs((double) a[i] - b[i]);
            if (!(d <= worstDiff)) { worstDiff = d; worst = i; }
        }
        if (count == 0) return null;
        return String.format("%d of %d elements differ; first [%d] %s vs %s; largest [%d] %s vs %s", count, a.length,
                first, a[first], b[first], worst, a[worst], b[worst]);
    }
}
