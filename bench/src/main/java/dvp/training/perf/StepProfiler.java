package dvp.training.perf;

import dvp.engine.profile.ChromeTrace;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.training.loop.StepHook;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code --profile} / {@code --nvtx} hook of training commands. A trainer
 * <pre>{@code
 * Backend be = StepProfiler.backendFor(device, opts);          // before building anything
 * try (StepProfiler prof = StepProfiler.open(be, opts, runDir.resolve("profile"), log)) {
 *     ... build model and optimizer on be ...
 *     for (long step = ...) {
 *         prof.beforeStep(step);
 *         ... one training step ...
 *         prof.afterStep(step);
 *     }
 * }
 * }</pre>
 * With {@code --profile}, steps [first, first+count) are profiled and, when the window ends, the
 * per-op table ({@code profile.txt}), the Chrome trace ({@code trace.json}) and the results file
 * ({@code profile.json}) are written to the output folder; the other steps run unprofiled. With
 * {@code --nvtx} every step (and with --profile every op of the window) is an NVTX range. Without
 * either, {@link #backendFor} returns the backend unchanged and every call here returns at once.
 */
public final class StepProfiler implements StepHook, AutoCloseable {
    /** @param profile whether to profile a window of steps; @param first first profiled step; @param count steps profiled */
    public record Options(boolean profile, long first, long count, boolean nvtx) {
        public static Options off() { return new Options(false, 0, 0, false); }

        boolean any() { return profile || nvtx; }
    }

    private final ProfilingBackend backend;
    private final Options options;
    private final Path outDir;
    private final PrintWriter log;
    private Profiler profiler;
    private boolean windowDone;

    private StepProfiler(ProfilingBackend backend, Options options, Path outDir, PrintWriter log) {
        this.backend = backend;
        this.options = options;
        this.outDir = outDir;
        this.log = log;
        if (backend != null && options.nvtx() && !options.profile()) profiler = backend.start(new Profiler.Options(false, true));
    }

    /** The backend to build the model on: a profiling decorator when profiling or NVTX is on, else {@code b} itself. */
    public static Backend backendFor(Backend b, Options o) {
        if (o.count() < 0 || o.first() < 0) throw new IllegalArgumentException("--profile-steps: first step and count must be >= 0");
        return o.any() ? ProfilingBackend.wrap(b) : b;
    }

    public static StepProfiler open(Backend b, Options o, Path outDir, PrintWriter log) {
        return new StepProfiler(o.any() && b instanceof ProfilingBackend pb ? pb : null, o, outDir, log);
    }

    private boolean inWindow(long step) { return options.profile() && step >= options.first() && step < options.first() + options.count(); }

    @Override
    public void beforeStep(long step) {
        if (backend == null) return;
        if (inWindow(step) && !windowDone) {
            if (profiler == null || !profiler.options().recordOps()) {
                if (profiler != null) profiler.close();
                profiler = backend.start(new Profiler.Options(true, options.nvtx()));
            }
            profiler.stepBegin(step);
        } else if (profiler != null) {
            profiler.stepBegin(step);
        }
    }

    @Override
    public void afterStep(long step) {
        if (profiler == null) return;
        profiler.stepEnd();
        if (inWindow(step) && step == options.first() + options.count() - 1) finishWindow();
    }

    private void finishWindow() {
        windowDone = true;
        Profiler p = profiler;
        p.close();
        long last = p.steps().isEmpty() ? options.first() : p.steps().getLast().index();
        profiler = options.nvtx() ? backend.start(new Profiler.Options(false, true)) : null;
        try {
            Files.createDirectories(outDir);
            RunEnvironment env = RunEnvironment.of(backend);
            OpTable t = OpTable.of(p.events(), p.steps(), true, null);
            String label = env.device().label();
            String text = "profiled training steps " + options.first() + ".." + last + " on "
                    + env.device().name() + " (" + env.device().timing() + ")\n"
                    + (label == null ? "" : env.device().simulatedWarning() + "\n") + "\n" + ProfileReport.table(t, 40, false, label)
                    + String.format(java.util.Locale.ROOT, "primitives cover %.1f%% of the step time%s%n", t.coveragePct(),
                    label == null ? "" : " (" + label + ")");
            Files.writeString(outDir.resolve("profile.txt"), text, StandardCharsets.UTF_8);
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("source", "training steps " + options.first() + ".." + last);
            ChromeTrace.write(p, meta, outDir.resolve("trace.json"));
            double[] ms = p.steps().stream().mapToDouble(s -> s.deviceNanos() / 1e6).toArray();
            List<Figure> figs = ms.length == 0 ? List.of() : List.of(Figure.of("step_time_device", "ms", Figure.LOWER, ms, "profiled training steps"),
                    Figure.single("op_coverage", "%", Figure.HIGHER, t.coveragePct(), "time inside primitives / step time"));
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("first_step", options.first());
            run.put("steps", options.count());
            Results.create("profile", env, List.of(new Results.ScenarioResult("training", Map.of(), run, figs, t.rows())), null,
                    List.of("profiled inside a training run")).write(outDir.resolve("profile.json"));
            log.println("dvp: profile of steps " + options.first() + ".." + last + " written to " + outDir);
            log.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("writing the profile to " + outDir, e);
        }
    }

    @Override
    public void close() {
        // a run that ended inside the window still leaves the profile of the steps it did
        if (profiler != null && profiler.options().recordOps() && !windowDone && !profiler.steps().isEmpty()) finishWindow();
        if (profiler != null) profiler.close();
        profiler = null;
    }
}
