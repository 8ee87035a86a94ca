package dvp.training.perf;

import dvp.training.run.BuildInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The text of {@code dvp profile}: a header, the per-op table and the step summary. */
final class ProfileReport {
    private ProfileReport() {}

    static final String[] HEADER = {"op", "calls", "total ms", "mean us", "% step", "MB/call", "MFLOP/call", "GB/s", "GFLOP/s",
            "% copy", "% gemm", "shapes"};

    static String render(ProfileRun.Settings s, RunEnvironment env, Map<String, Object> settings, OpTable t, Ceilings c,
                         Stats baseMs, Stats profMs, Stats overheadPct, boolean deviceClock) {
        StringBuilder b = new StringBuilder();
        String label = env.device().label(); // non-null on a simulated device: on every figure row
        b.append("dvp profile: ").append(s.scenario()).append(" on ").append(env.device().backend()).append(" (")
                .append(env.device().name()).append(")\n");
        if (label != null) b.append(env.device().simulatedWarning()).append('\n');
        b.append("settings: ").append(settings).append('\n');
        b.append(t.steps()).append(" profiled steps alternating with ").append(s.steps()).append(" unprofiled ones, after ")
                .append(s.warmup()).append(" warm-up pairs; op times are ").append(deviceClock ? "device times (events around each op)"
                        : "wall time (on the CPU device time = host time)").append('\n');
        b.append('\n');
        b.append(table(t, s.top(), c != null, label)).append('\n');
        String tag = label == null ? "" : " (" + label + ")";
        b.append(String.format(Locale.ROOT, "step time" + tag + ": %s ms median (IQR %s-%s) unprofiled, %s ms profiled; profiling overhead %+.1f%% "
                        + "(median over %d step pairs, IQR %+.1f%% to %+.1f%%)%n",
                f(baseMs.median()), f(baseMs.q1()), f(baseMs.q3()), f(profMs.median()), overheadPct.median(), overheadPct.samples(),
                overheadPct.q1(), overheadPct.q3()));
        b.append(String.format(Locale.ROOT, "primitives" + tag + ": %s ms per step = %.1f%% of the profiled step time (%s ms, means over the profiled steps); "
                        + "the rest is host work between primitives (allocation, autograd bookkeeping)%n",
                f(t.opNanos() / 1e6 / Math.max(1, t.steps())), t.coveragePct(), f(t.stepNanos() / 1e6 / Math.max(1, t.steps()))));
        if (t.callsOutsideSteps() > 0) b.append(t.callsOutsideSteps()).append(" calls outside steps are not in the table\n");
        if (c != null)
            b.append(String.format(Locale.ROOT, "ceilings: copy %s GB/s, GEMM %s GFLOP/s (our best SGEMM, n=%d), measured %s; %% copy and %% gemm compare with them%n",
                    f(c.copyGBps()), f(c.matmulGflops()), c.matmulSize(), c.measuredAt()));
        else if (label != null && s.ceilingsFile() != null) b.append("ceilings: none on a simulated device\n");
        else b.append("ceilings: not used (--ceilings none)\n");
        if (c != null && !c.dvpCommit().equals(env.tool().gitCommit()))
            b.append("note: the ceilings were measured by another build (git ").append(BuildInfo.shortCommit(c.dvpCommit()))
                    .append("); after GEMM changes refresh them with --remeasure-ceilings\n");
        return b.toString();
    }

    /**
     * The table, sorted by total time, with the first {@code top} rows and one line for the rest;
     * {@code label} (non-null on a simulated device) fills a "note" column, before the shapes, on every row.
     */
    static String table(OpTable t, int top, boolean withCeilings, String label) {
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADER);
        List<OpTable.Row> all = t.rows();
        for (int i = 0; i < Math.min(top, all.size()); i++) {
            OpTable.Row r = all.get(i);
            rows.add(new String[]{r.op(), Long.toString(r.calls()), f(r.totalMs()), f(r.meanUs()), pct(r.pctOfStep()),
                    f(r.bytesPerCall() / 1e6), r.flopsPerCall() == 0 ? "-" : f(r.flopsPerCall() / 1e6), f(r.gbps()),
                    r.totalFlops() == 0 ? "-" : f(r.gflops()), withCeilings && r.pctOfCopy() != null ? pct(r.pctOfCopy()) : "-",
                    withCeilings && r.pctOfMatmul() != null ? pct(r.pctOfMatmul()) : "-", r.shapes()});
        }
        if (all.size() > top) {
            List<OpTable.Row> rest = all.subList(top, all.size());
            double ms = rest.stream().mapToDouble(OpTable.Row::totalMs).sum(), pct = rest.stream().mapToDouble(OpTable.Row::pctOfStep).sum();
            long calls = rest.stream().mapToLong(OpTable.Row::calls).sum();
            rows.add(new String[]{"(" + rest.size() + " more rows)", Long.toString(calls), f(ms), "", pct(pct), "", "", "", "", "", "", ""});
        }
        double totalMs = all.stream().mapToDouble(OpTable.Row::totalMs).sum(), totalPct = all.stream().mapToDouble(OpTable.Row::pctOfStep).sum();
        long totalCalls = all.stream().mapToLong(OpTable.Row::calls).sum();
        rows.add(new String[]{"total (primitives)", Long.toString(totalCalls), f(totalMs), "", pct(totalPct), "", "", "", "", "", "", ""});
        if (label != null) rows.replaceAll(r -> {
            String[] x = java.util.Arrays.copyOf(r, r.length + 1);
            x[r.length] = x[r.length - 1]; // shapes stay last
            x[r.length - 1] = r == HEADER ? "note" : label;
            return x;
        });
        int[] w = new int[rows.getFirst().length];
        for (String[] r : rows) for (int i = 0; i < r.length; i++) w[i] = Math.max(w[i], r[i].length());
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < rows.size(); k++) {
            String[] r = rows.get(k);
            if (k == rows.size() - 1 || k == 1) b.append(rule(w)).append('\n');
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                boolean left = i == 0 || i == r.length - 1 || rows.getFirst()[i].equals("note");
                line.append(i == 0 ? "" : "  ").append(left ? String.format("%-" + w[i] + "s", r[i]) : String.format("%" + w[i] + "s", r[i]));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    private static String rule(int[] w) {
        int n = 0;
        for (int x : w) n += x + 2;
        return "-".repeat(Math.max(0, n - 2));
    }

    /** Three significant digits, no exponent for the magnitudes tables show. */
    static String f(double v) {
        double a = Math.abs(v);
        if (a == 0) return "0";
        if (a >= 100) return String.format(Locale.ROOT, "%.0f", v);
        if (a >= 10) return String.format(Locale.ROOT, "%.1f", v);
        if (a >= 1) return String.format(Locale.ROOT, "%.2f", v);
        if (a >= 0.01) return String.format(Locale.ROOT, "%.3f", v);
        return String.format(Locale.ROOT, "%.2g", v);
    }


    static String pct(double v) { return String.format(Locale.ROOT, "%.1f", v); }
}
