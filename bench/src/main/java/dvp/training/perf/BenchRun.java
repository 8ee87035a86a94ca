package dvp.training.perf;

import dvp.engine.cpu.CpuMemoryStats;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.profile.OpEvent;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.training.run.BadInputException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code dvp bench}: for each scenario and each of its workloads, warm-up runs until the timing is
 * stable ({@link Warmup}) and then timed samples (device markers on a device backend, host clock on
 * the CPU), reported as medians with spread; the FLOPs and bytes of one run (counted by the
 * profiler in one extra, untimed run) turn each sample's time into GFLOP/s and GB/s against the
 * device's ceilings (figures derived from the time, judged by its spread in {@link Compare}).
 * Progress goes to the log; the results are one table at the end and the results file.
 */
public final class BenchRun {
    private BenchRun() {}

    public record Settings(List<String> scenarios, ScenarioOptions options, Warmup.Policy warmup, int samples, Path json, Path ceilingsFile,
                           boolean remeasureCeilings, String commandLine) {
        void validate() {
            if (scenarios.isEmpty()) throw new BadInputException("no scenario given (known: " + String.join(", ", Scenarios.NAMES) + ")");
            for (String s : scenarios)
                if (!Scenarios.NAMES.contains(s))
                    throw new BadInputException("unknown scenario '" + s + "' (known: " + String.join(", ", Scenarios.NAMES) + ")");
            warmup.validate();
            if (samples < 1) throw new BadInputException("--samples must be >= 1, got " + samples);
        }
    }

    public static Results run(Backend backend, Settings s, PrintWriter out, PrintWriter log) throws IOException {
        s.validate();
        ProfilingBackend pb = ProfilingBackend.wrap(backend);
        RunEnvironment env = RunEnvironment.of(pb);
        Ceilings ceilings = null;
        boolean ceilingsLooked = false;
        String label = env.device().label(); // non-null on a simulated device: a last column on every row
        // a simulated device's timings never settle into anything worth waiting for: the warm-up is the
        // minimum runs only (up to --warmup-max-seconds per workload would be minutes of simulation)
        Warmup.Policy warmupPolicy = label == null ? s.warmup() : new Warmup.Policy(s.warmup().minRuns(), s.warmup().tolerancePct(), 0);
        out.println("dvp bench on " + env.device().backend() + " (" + env.device().name() + "), per workload " + warmupPolicy.describe()
                + ", then " + s.samples() + " timed samples; medians, IQR as % of the median");
        if (label != null) out.println(env.device().simulatedWarning());
        out.flush();
        List<String[]> rows = new ArrayList<>();
        rows.add(labelled(new String[]{"scenario", "workload", "median ms", "IQR %", "warm-up", "img/s", "GFLOP/s", "% gemm", "GB/s", "% copy"},
                label, "note"));
        List<Results.ScenarioResult> parts = new ArrayList<>();
        for (String name : s.scenarios()) {
            boolean cpu = pb.inner().name().equals("cpu");
            CudaBackend cuda = pb.inner() instanceof CudaBackend c ? c : null;
            if (cpu) CpuMemoryStats.resetPeak();
            try (Scenario sc = Scenarios.create(name, pb, s.options()); WorkTimer timer = WorkTimer.of(pb)) {
                // after the first scenario is built: a bad setting is reported before seconds of measuring
                if (!ceilingsLooked && s.ceilingsFile() != null)
                    ceilings = Ceilings.forDevice(pb, env.device(), s.ceilingsFile(), s.remeasureCeilings(), log);
                ceilingsLooked = true;
                // the peak starts at what the built scenario holds (weights, optimizer state), not at the ceilings' buffers
                if (cuda != null) cuda.resetPeakMemoryStats();
                List<Figure> figures = new ArrayList<>();
                Map<String, Object> warmups = new LinkedHashMap<>();
                for (Scenario.Workload w : sc.workloads()) {
                    Warmup wu = Warmup.run(warmupPolicy, () -> timer.nanos(w.run()) / 1e6);
                    warmups.put(w.name(), Map.of("runs", wu.runs(), "seconds", wu.seconds(), "stable", wu.stable()));
                    log.println("bench: " + name + " / " + w.name() + ": " + wu.runs() + " warm-up runs (" + ProfileReport.f(wu.seconds()) + " s"
                            + (wu.stable() ? "" : ", not stable") + "), " + s.samples() + " timed samples");
                    log.flush();
                    double[] ms = new double[s.samples()];
                    for (int i = 0; i < ms.length; i++) ms[i] = timer.nanos(w.run()) / 1e6;
                    long[] cost = countCost(pb, w);
                    Stats st = Stats.of(ms);
                    String prefix = w.name() + "/", time = prefix + "time";
                    figures.add(Figure.of(time, "ms", Figure.LOWER, ms, timer.clock() + " clock"));
                    double[] tput = per(ms, w.items()), gflops = per(ms, cost[0] / 1e9), gbps = per(ms, cost[1] / 1e9);
                    if (w.items() > 0) figures.add(Figure.derived(prefix + "throughput", "img/s", tput, w.items() + " images per run", time));
                    if (cost[0] > 0) figures.add(Figure.derived(prefix + "compute", "GFLOP/s", gflops, cost[0] + " FLOPs per run (from shapes)", time));
                    figures.add(Figure.derived(prefix + "bandwidth", "GB/s", gbps, cost[1] + " bytes per run (inputs read + outputs written)", time));
                    double g = cost[0] / 1e6 / st.median(), b = cost[1] / 1e6 / st.median();
                    rows.add(labelled(new String[]{name, w.name(), ProfileReport.f(st.median()), ProfileReport.pct(st.spreadPct()),
                            wu.runs() + (wu.stable() ? "" : " (unstable)"),
                            w.items() > 0 ? ProfileReport.f(w.items() / (st.median() / 1e3)) : "-", cost[0] > 0 ? ProfileReport.f(g) : "-",
                            ceilings != null && cost[0] > 0 ? ProfileReport.pct(100 * g / ceilings.matmulGflops()) : "-", ProfileReport.f(b),
                            ceilings != null ? ProfileReport.pct(100 * b / ceilings.copyGBps()) : "-"}, label, label));
                }
                if (cpu) figures.add(Figure.single("peak_memory", "MiB", Figure.LOWER, CpuMemoryStats.peakBytes() / 1048576.0,
                        "peak live CPU tensor memory while the scenario ran (model, optimizer state, activations)"));
                if (cuda != null) figures.add(Figure.single("peak_memory", "MiB", Figure.LOWER, cuda.memoryStats().peakAllocated() / 1048576.0,
                        "peak device memory allocated through dvp's caching allocator from the built scenario (its weights and state) until it ended "
                                + "(weights, optimizer state, activations, cuBLAS/cuDNN workspaces; torch.cuda.max_memory_allocated's counterpart)"));
                Map<String, Object> run = new LinkedHashMap<>();
                run.put("command", s.commandLine());
                Map<String, Object> warmup = new LinkedHashMap<>();
                warmup.put("min_runs", warmupPolicy.minRuns());
                warmup.put("tolerance_pct", warmupPolicy.tolerancePct());
                warmup.put("max_seconds", warmupPolicy.maxSeconds());
                warmup.put("workloads", warmups);
                run.put("warmup", warmup);
                run.put("samples", s.samples());
                run.put("timing", timer.clock().equals("device") ? "device markers around each run" : "host wall clock, synchronize after each run");
                parts.add(new Results.ScenarioResult(name, new LinkedHashMap<>(sc.settings()), run, figures, null));
            }
        }
        out.println();
        out.print(table(rows));
        Results r = Results.create("bench", env, parts, ceilings, List.of("medians over samples; FLOPs and bytes from shapes (docs/profiling.md)"));
        if (s.json() != null) {
            r.write(s.json());
            out.println("results: " + s.json());
        }
        out.flush();
        return r;
    }

    /** The row with {@code cell} appended when {@code label} is non-null (a simulated device), else the row itself. */
    static String[] labelled(String[] row, String label, String cell) {
        if (label == null) return row;
        String[] r = java.util.Arrays.copyOf(row, row.length + 1);
        r[row.length] = cell;
        return r;
    }

    /** FLOPs and bytes of one run of w, counted by a profiler (not timed). */
    private static long[] countCost(ProfilingBackend pb, Scenario.Workload w) {
        try (Profiler p = pb.start(Profiler.Options.record())) {
            p.stepBegin(0);
            w.run().run();
            p.stepEnd();
            long flops = 0, bytes = 0;
            for (OpEvent e : p.events()) {
                flops += e.flops();
                bytes += e.bytes();
            }
            return new long[]{flops, bytes};
        }
    }

    private static double[] per(double[] ms, double amount) {
        double[] r = new double[ms.length];
        for (int i = 0; i < ms.length; i++) r[i] = amount / (ms[i] / 1e3);
        return r;
    }

    static String table(List<String[]> rows) {
        int[] w = new int[rows.getFirst().length];
        for (String[] r : rows) for (int i = 0; i < r.length; i++) w[i] = Math.max(w[i], r[i].length());
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                String cell = i < 2 || rows.getFirst()[i].equals("note") ? String.format("%-" + w[i] + "s", r[i]) : String.format("%" + w[i] + "s", r[i]);
                b.append(i == 0 ? "" : "  ").append(cell);
            }
            b.append('\n');
        }
        return b.toString().lines().map(String::stripTrailing).reduce("", (a, l) -> a + l + "\n");
    }
}
