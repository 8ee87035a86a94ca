package dvp.training.perf;

import dvp.training.run.BadInputException;

import java.util.function.DoubleSupplier;

/**
 * Warm-up before a benchmark's timed samples: a fixed count is far too short for small workloads
 * (a 256³ GEMM after 3 warm-up runs measured 3.53 ms with a spread of 1156 %, 0.718 ms after 50:
 * the JIT compiles, caches and clocks settle at their own pace). So after {@code minRuns} runs the
 * workload keeps running in windows of {@value #WINDOW} until the medians of three successive
 * windows each agree with the one before within {@code tolerancePct} (one agreement alone was
 * fooled by a plateau between two JIT tiers), or until {@code maxSeconds} of its run time are spent
 * (then the measurement is reported as not stable). The result says how it ended.
 *
 * @param runs    warm-up runs done
 * @param seconds their total run time
 * @param stable  whether three successive window medians agreed within the tolerance
 */
public record Warmup(int runs, double seconds, boolean stable) {
    /** Runs per window whose median is compared with the previous window's. */
    public static final int WINDOW = 5;
    private static final int MAX_RUNS = 1_000_000;

    /**
     * @param minRuns      runs before the first window (JIT, allocator, caches)
     * @param tolerancePct how close two successive window medians must be, in % of the earlier one
     * @param maxSeconds   run time after which the warm-up stops anyway (0: only the minRuns)
     */
    public record Policy(int minRuns, double tolerancePct, double maxSeconds) {
        public static Policy defaults() { return new Policy(3, 5, 10); }

        void validate() {
            if (minRuns < 0) throw new BadInputException("--warmup must be >= 0, got " + minRuns);
            if (!(tolerancePct > 0)) throw new BadInputException("--warmup-tolerance must be > 0 (percent), got " + tolerancePct);
            if (!(maxSeconds >= 0)) throw new BadInputException("--warmup-max-seconds must be >= 0, got " + maxSeconds);
        }

        /** "at least 3 warm-up runs, more until ... agree within 5% (at most 10 s)". */
        String describe() {
            return maxSeconds == 0 ? minRuns + " warm-up runs"
                    : "at least " + minRuns + " warm-up runs, more until the medians of three successive " + WINDOW + "-run windows agree "
                    + "within " + num(tolerancePct) + "% (at most " + num(maxSeconds) + " s of runs)";
        }
    }

    private static String num(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }

    /** Warms a workload up; {@code timedRunMs} runs it once and returns how long that took, in ms. */
    public static Warmup run(Policy p, DoubleSupplier timedRunMs) {
        double spentMs = 0;
        int n = 0;
        for (; n < p.minRuns(); n++) spentMs += timedRunMs.getAsDouble();
        double previous = Double.NaN;
        int agreements = 0;
        double[] window = new double[WINDOW];
        while (spentMs < p.maxSeconds() * 1e3 && n < MAX_RUNS) {
            for (int i = 0; i < WINDOW; i++, n++) spentMs += window[i] = timedRunMs.getAsDouble();
            double median = Stats.of(window).median();
            agreements = Math.abs(median - previous) <= p.tolerancePct() / 100 * previous ? agreements + 1 : 0;
            if (agreements == 2) return new Warmup(n, spentMs / 1e3, true);
            previous = median;
        }
        return new Warmup(n, spentMs / 1e3, p.maxSeconds() == 0);
    }
}
