package dvp.training.perf;

import dvp.engine.profile.ChromeTrace;
import dvp.engine.profile.OpEvent;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.profile.Span;
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
 * {@code dvp profile}: builds a scenario on a {@link ProfilingBackend}, runs warm-up steps, then
 * {@code steps} unprofiled steps (the baseline for the overhead figure) alternating with
 * {@code steps} profiled ones, and reports the per-op table, the trace and the results file.
 */
public final class ProfileRun {
    private ProfileRun() {}

    /**
     * @param byShapes     group the table by op and shapes (else by op)
     * @param top          rows shown (the rest summed in one line); the JSON has every row
     * @param trace        Chrome trace file to write, or null
     * @param json         results file to write, or null
     * @param ceilingsFile the ceilings cache, or null to compare with no ceilings
     */
    public record Settings(String scenario, ScenarioOptions options, int warmup, int steps, boolean byShapes, int top, boolean nvtx,
                           Path trace, Path json, Path ceilingsFile, boolean remeasureCeilings, String commandLine) {
        void validate() {
            if (warmup < 0) throw new BadInputException("--warmup must be >= 0, got " + warmup);
            if (steps < 1) throw new BadInputException("--steps must be >= 1, got " + steps);
            if (top < 1) throw new BadInputException("--top must be >= 1, got " + top);
        }
    }

    /** What a profile produced (tests and the training hook read it). */
    public record Outcome(OpTable table, Stats unprofiledStepMs, Stats profiledStepMs, Stats deviceStepMs, Stats overheadPct,
                          List<OpEvent> events, List<Span> steps, Results results, String report) {}

    /** Per pair of steps, profiled / unprofiled - 1 in percent: pairing cancels most of a shared machine's drift. */
    static double[] pairedOverheadPct(double[] base, double[] prof) {
        double[] r = new double[base.length];
        for (int i = 0; i < r.length; i++) r[i] = 100 * (prof[i] / base[i] - 1);
        return r;
    }

    /**
     * Compiles the recording path (begin/end, event objects) before anything is measured: a few
     * warm-up steps call it only a few thousand times, and interpreted it would bill its own
     * compilation to the first profiled steps' overhead figure. Recorded calls are discarded.
     */
    static void warmUpRecording(ProfilingBackend pb, Profiler p) {
        try (dvp.engine.Scope sc = dvp.engine.Scope.open("profiler warm-up")) {
            dvp.engine.Tensor t = dvp.engine.Tensor.empty(pb, dvp.engine.DType.F32, 1);
            for (int i = 0; i < 20_000; i++) {
                pb.fill(t, 0);
                if (i % 1000 == 999) p.clear(); // recycles device markers on a device backend
            }
        }
        p.clear();
    }

    public static Outcome run(Backend backend, Settings s, PrintWriter out, PrintWriter log) throws IOException {
        s.validate();
        ProfilingBackend pb = ProfilingBackend.wrap(backend);
        RunEnvironment env = RunEnvironment.of(pb);
        Ceilings ceilings = null;
        double[] base = new double[s.steps()], prof = new double[s.steps()];
        List<OpEvent> events;
        List<Span> steps;
        Map<String, Object> settings;
        long items;
        boolean deviceClock;
        try (Scenario sc = Scenarios.create(s.scenario(), pb, s.options())) {
            // after the scenario is built: a bad setting is reported before seconds of measuring
            if (s.ceilingsFile() != null) ceilings = Ceilings.forDevice(pb, env.device(), s.ceilingsFile(), s.remeasureCeilings(), log);
            settings = new LinkedHashMap<>(sc.settings());
            items = sc.workloads().stream().mapToLong(Scenario.Workload::items).sum();
            try (Profiler p = pb.start(new Profiler.Options(true, s.nvtx()))) {
                deviceClock = p.hasDeviceClock();
                if (s.warmup() > 0) warmUpRecording(pb, p);
                // unprofiled and profiled steps alternate, warm-up included (both paths get compiled), and
                // which of the pair runs first alternates too, so a shared machine's drift and any
                // order effect (caches, allocator) hit both kinds alike
                for (int i = 0; i < s.warmup() + s.steps(); i++) {
                    boolean measured = i >= s.warmup();
                    if (i == s.warmup()) p.clear();
                    double b = 0, t = 0;
                    for (int half = 0; half < 2; half++) {
                        if ((half == 0) == (i % 2 == 0)) {
                            // unprofiled: host wall time until the device is idle again
                            p.pause();
                            long b0 = System.nanoTime();
                            sc.step();
                            pb.synchronize();
                            b = (System.nanoTime() - b0) / 1e6;
                            p.resume();
                        } else {
                            long t0 = System.nanoTime();
                            p.stepBegin(measured ? i - s.warmup() : i);
                            sc.step();
                            p.stepEnd(); // synchronises on a device backend
                            t = (System.nanoTime() - t0) / 1e6;
                        }
                    }
                    if (measured) {
                        base[i - s.warmup()] = b;
                        prof[i - s.warmup()] = t;
                    }
                }
                events = p.events();
                steps = p.steps();
                if (s.trace() != null) {
                    Map<String, Object> meta = new LinkedHashMap<>();
                    meta.put("scenario", s.scenario());
                    meta.put("settings", settings.toString());
                    meta.put("device", env.device().name());
                    if (env.device().simulated()) meta.put("simulated", "every time in this trace is " + RunEnvironment.NOT_A_SPEED);
                    meta.put("dvp", env.tool().version() + " (git " + env.tool().gitCommit() + ")");
                    ChromeTrace.write(p, meta, s.trace());
                }
            }
        }
        OpTable table = OpTable.of(events, steps, s.byShapes(), ceilings);
        Stats baseMs = Stats.of(base), profMs = Stats.of(prof);
        double[] overhead = pairedOverheadPct(base, prof);
        Stats overheadPct = Stats.of(overhead);
        Stats devMs = Stats.of(steps.stream().mapToDouble(sp -> sp.deviceNanos() / 1e6).toArray());

        List<Figure> figures = new ArrayList<>();
        figures.add(Figure.of("step_time", "ms", Figure.LOWER, base, "unprofiled steps, host wall clock until the device is idle"));
        figures.add(Figure.of("step_time_profiled", "ms", Figure.LOWER, prof, "host wall clock of profiled steps, profiler overhead included"));
        figures.add(Figure.of("step_time_device", "ms", Figure.LOWER,
                steps.stream().mapToDouble(sp -> sp.deviceNanos() / 1e6).toArray(), "the denominator of pct_of_step"));
        if (items > 0) {
            double[] tput = new double[base.length];
            for (int i = 0; i < base.length; i++) tput[i] = items / (base[i] / 1e3);
            figures.add(Figure.of("throughput", "img/s", Figure.HIGHER, tput, "items per unprofiled step / step time"));
        }
        figures.add(Figure.of("profiling_overhead", "%", Figure.LOWER, overhead,
                "per pair of adjacent steps: profiled / unprofiled step time - 1 (the median is the estimate)"));
        figures.add(Figure.single("op_coverage", "%", Figure.HIGHER, table.coveragePct(),
                "time inside primitives / step time (the rest: allocation, autograd bookkeeping, host code)"));
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("command", s.commandLine());
        run.put("warmup", s.warmup());
        run.put("steps", s.steps());
        run.put("group_by", s.byShapes() ? "op+shapes" : "op");
        run.put("timing", env.device().timing());
        if (s.trace() != null) run.put("trace", s.trace().toString());
        Results results = Results.create("profile", env, List.of(new Results.ScenarioResult(s.scenario(), settings, run, figures, table.rows())),
                ceilings, List.of("bytes = inputs read + outputs written; FLOPs from shapes (see docs/profiling.md)"));
        if (s.json() != null) results.write(s.json());

        String report = ProfileReport.render(s, env, settings, table, ceilings, baseMs, profMs, overheadPct, deviceClock);
        out.print(report);
        if (s.trace() != null) out.println("trace: " + s.trace() + " (open in https://ui.perfetto.dev or chrome://tracing)");
        if (s.json() != null) out.println("results: " + s.json());
        out.flush();
        return new Outcome(table, baseMs, profMs, devMs, overheadPct, events, steps, results, report);
    }
}
