package dvp.training.session;

import dvp.engine.spi.Backend;
import dvp.training.checkpoint.Checkpoint;
import dvp.training.checkpoint.Checkpointer;
import dvp.training.checkpoint.SafetensorsTensorFile;
import dvp.training.checkpoint.TensorFile;
import dvp.training.observe.CurvePlots;
import dvp.training.observe.Metrics;
import dvp.training.observe.Progress;
import dvp.training.run.BadInputException;
import dvp.training.run.NonFiniteGuard;
import dvp.training.run.RunDir;
import dvp.training.run.RunInterruptedException;
import dvp.training.run.StopSignal;
import dvp.training.run.Versions;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * Everything a trainer needs around its loop, set up from the command line's options: the run
 * folder (config and versions written), the checkpointer, the metrics log, the NaN/Inf guard,
 * progress display and Ctrl-C handling. A trainer then reads:
 * <pre>{@code
 * try (TrainingSession s = TrainingSession.open("pretrain", options, config, backend)) {
 *     s.checkpoints().track("encoder_q", Stateful.module(encoderQ)).track("loop", loop);
 *     long step = s.resume();                       // 0, or the step of the checkpoint resumed
 *     try (Progress p = s.progress("pretrain", totalSteps, step)) {
 *         while (step < totalSteps) {
 *             ... one step ...; step++;
 *             s.guard().check(step, "loss", loss);
 *             s.metrics().row("train", step).put("loss", loss).put("lr", lr).log();
 *             p.update(step, "epoch " + epoch + " loss " + loss);
 *             if (endOfEpoch) s.checkpoints().save(step, epoch, Map.of("val_top1", top1));
 *             s.stopIfRequested(step, epoch);      // Ctrl-C: checkpoint, exit code 5
 *         }
 *     }
 * }
 * }</pre>
 * Closing flushes the metrics and draws the PNG curves (also after a failure: the curves of a
 * diverged run are the first thing to look at).
 */
public final class TrainingSession implements AutoCloseable {
    private final SessionOptions options;
    private final RunDir run;
    private final Checkpointer checkpoints;
    private final NonFiniteGuard guard;
    private final PrintStream log;
    private final Versions versions;
    private final Path createdFolder;
    private Object config;
    private Metrics metrics;
    private Checkpointer.Restored restored;

    private TrainingSession(SessionOptions options, RunDir run, Checkpointer checkpoints, PrintStream log, Versions versions, Object config,
                            Path createdFolder) {
        this.options = options;
        this.run = run;
        this.checkpoints = checkpoints;
        this.guard = new NonFiniteGuard(checkpoints::last);
        this.log = log;
        this.versions = versions;
        this.config = config;
        this.createdFolder = createdFolder;
    }

    /**
     * Picks the run folder (a new one is created empty, to reserve its name; --resume reopens the
     * checkpoint's). Nothing is written into it until {@link #resume()}, which trainers call once
     * everything is built and checked: a run that fails before (bad input, a checkpoint that does
     * not fit) leaves an existing folder as it was and removes a new one on {@link #close()}.
     *
     * @param command the command's name, prefix of a new run folder's name
     * @param config  the resolved configuration (a record or map; stored verbatim as JSON)
     */
    public static TrainingSession open(String command, SessionOptions options, Object config, Backend backend) throws IOException {
        return open(command, options, config, backend, SafetensorsTensorFile.INSTANCE, System.err);
    }

    public static TrainingSession open(String command, SessionOptions options, Object config, Backend backend,
                                       TensorFile format, PrintStream log) throws IOException {
        RunDir run;
        Path created = null;
        if (options.runDir() != null) {
            Path dir = options.runDir();
            if (Files.exists(dir) && !Files.isDirectory(dir))
                throw new BadInputException("--run-dir " + dir + " is a file, not a folder; name a new folder or an existing run folder");
            // a folder that already holds a checkpointed run is continued with --resume, never silently
            // written over (its config.json, metrics and checkpoints would mix two runs)
            if (options.resume() == null && Files.exists(dir.resolve("checkpoints").resolve("last"), LinkOption.NOFOLLOW_LINKS))
                throw new BadInputException("run folder " + dir + " already holds a run with checkpoints: continue it with --resume "
                        + dir + ", or choose another --run-dir");
            created = firstMissing(dir);
            run = RunDir.at(dir);
        } else if (options.resume() != null && runFolderOf(options.resume()) != null) {
            run = RunDir.existing(runFolderOf(options.resume()));
        } else {
            run = RunDir.createNew(options.runsRoot(), options.name() != null ? options.name() : command);
            created = run.path();
        }
        Versions versions = Versions.current(backend);
        Checkpointer ck = new Checkpointer(run.checkpointsDir(), format, versions).config(config);
        return new TrainingSession(options, run, ck, log, versions, config, created);
    }

    /** The outermost folder of dir that does not exist yet (what creating dir creates), or null. */
    private static Path firstMissing(Path dir) {
        Path p = dir.toAbsolutePath().normalize(), missing = null;
        while (p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            missing = p;
            p = p.getParent();
        }
        return missing;
    }

    /** config plus the command line it came from (under "command_line"), as config.json holds it. */
    public static Object withCommandLine(Object config, Map<String, Object> commandLine) {
        if (commandLine == null) return config;
        var tree = dvp.training.run.Json.tree(config);
        if (!(tree instanceof com.fasterxml.jackson.databind.node.ObjectNode o)) return config;
        o.set("command_line", dvp.training.run.Json.tree(commandLine));
        return o;
    }

    /** The run folder of what --resume names (a checkpoint, checkpoints folder or run folder), or null if it is not in one. */
    public static Path runFolderOf(Path resume) throws IOException { return checkpointRunFolder(Checkpoint.resolve(resume)); }

    /** The run folder a checkpoint folder lives in (run/checkpoints/step-N), or null if it is elsewhere. */
    private static Path checkpointRunFolder(Path checkpoint) throws IOException {
        Path real = checkpoint.toRealPath();
        Path ckDir = real.getParent();
        Path runDir = ckDir == null ? null : ckDir.getParent();
        if (runDir != null && ckDir.getFileName().toString().equals("checkpoints") && Files.exists(runDir.resolve("config.json")))
            return runDir;
        return null;
    }

    public RunDir run() { return run; }

    public Checkpointer checkpoints() { return checkpoints; }

    public NonFiniteGuard guard() { return guard; }

    /**
     * The configuration config.json will hold, when the trainer knows more than the command did
     * (the network and input resolved from the weights); also stored in every checkpoint.
     */
    public void config(Object resolved) {
        if (metrics != null) throw new IllegalStateException("config(...) after resume(): config.json is already written");
        this.config = resolved;
        checkpoints.config(resolved);
    }

    /**
     * Starts writing the run: restores every tracked part from {@code --resume} (if given; a
     * checkpoint that does not fit fails here, before anything is written), then writes config.json
     * and versions.json and opens the metrics log (dropping rows logged after the checkpoint). Call
     * after tracking all parts and checking everything else.
     *
     * @return the step of the checkpoint resumed from, or 0 for a new run
     */
    public long resume() throws IOException {
        if (metrics != null) throw new IllegalStateException("resume() called twice");
        long step = -1;
        restored = options.resume() == null ? null : checkpoints.restore(options.resume());
        Files.createDirectories(run.path());
        run.writeConfig(withCommandLine(config, options.commandLine()));
        run.writeVersions(versions);
        log.println("dvp: run folder " + run.path());
        if (restored != null) {
            step = restored.step();
            log.println("dvp: resumed from " + restored.checkpoint() + " (step " + restored.step() + ", epoch " + restored.epoch() + ")");
        }
        metrics = Metrics.open(run, options.tensorboard(), step);
        checkpoints.beforeSave(metrics::flushDurably);
        StopSignal.training(true); // from here Ctrl-C means: checkpoint at the next step, exit 5
        return Math.max(step, 0);
    }

    /** What {@link #resume()} restored (its step and manifest, with the metrics saved with it), or empty for a new run. */
    public java.util.Optional<Checkpointer.Restored> restored() { return java.util.Optional.ofNullable(restored); }

    public Metrics metrics() {
        if (metrics == null) throw new IllegalStateException("call resume() before logging metrics");
        return metrics;
    }

    /** A run that never started writing leaves no folder it created (only empty folders are removed). */
    private void removeUnused() {
        if (createdFolder == null) return;
        for (Path p = run.path().toAbsolutePath().normalize(); p != null && p.startsWith(createdFolder); p = p.getParent()) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                return; // not empty, or not ours to remove: leave it
            }
        }
    }

    /** One line on the run's message stream: "dvp: warning: ...". */
    public void warn(String message) { log.println("dvp: warning: " + message); }

    /** One line on the run's message stream: "dvp: ...". */
    public void log(String message) { log.println("dvp: " + message); }

    public Progress progress(String task, long total, long start) {
        return Progress.start(options.progress(), task, total, start, "step");
    }

    /**
     * At a step boundary: if Ctrl-C/SIGTERM asked to stop, writes a checkpoint of this step and
     * throws {@link RunInterruptedException} (exit code 5).
     */
    public void stopIfRequested(long step, long epoch) throws IOException {
        if (!StopSignal.requested()) return;
        Path p = checkpoints.save(step, epoch, Map.of());
        throw new RunInterruptedException(step, p);
    }

    @Override
    public void close() {
        StopSignal.training(false);
        if (metrics == null) {
            removeUnused();
            return;
        }
        try {
            metrics.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing metrics of " + run.path(), e);
        }
        if (options.plots()) {
            CurvePlots.Result r = CurvePlots.write(metrics.history(), run.plotsDir());
            if (r.problem() != null) log.println("dvp: warning: " + r.problem());
        }
    }
}
