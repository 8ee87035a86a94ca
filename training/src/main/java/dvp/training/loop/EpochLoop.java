package dvp.training.loop;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.nn.optim.LrSchedule;
import dvp.nn.optim.Sgd;
import dvp.training.checkpoint.Stateful;
import dvp.training.data.loader.Batch;
import dvp.training.data.loader.DataLoader;
import dvp.training.data.loader.LoaderStats;
import dvp.training.observe.Progress;
import dvp.training.run.RunInterruptedException;
import dvp.training.run.StopSignal;
import dvp.training.session.TrainingSession;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The loop every phase shares: epochs of steps over a {@link DataLoader}, the per-epoch learning
 * rate, per-step scalars read once per logging interval ({@link StepScalars}), the NaN/Inf guard
 * on the loss of every step, progress, metrics ({@code train} rows per interval, {@code epoch}
 * rows with the epoch's means, {@code val} rows when the phase validates), a full checkpoint after every
 * epoch and on Ctrl-C, and {@code --resume}.
 *
 * <p><b>Resume is exact</b> because everything a step depends on is either checkpointed (the
 * tracked parts, the step counter, the epoch's running sums of the step scalars) or a pure function of (seed, epoch,
 * step): the loader's sample order and augmentation ({@code SampleSeeds}), the learning rate
 * (schedules are functions of the epoch) and whatever a phase derives from the step (MoCo's key
 * permutation). A run resumed in the middle of an epoch re-reads that epoch's first batches to
 * reach its position (their content is a function of the epoch, so nothing else changes).
 *
 * <p>Subclasses implement {@link #trainStep} (inside a per-step {@link Scope}: its temporaries are
 * freed when the step ends) and optionally {@link #beforeEpoch} / {@link #endOfEpoch}.
 */
public abstract class EpochLoop {
    private final TrainingSession session;
    private final DataLoader loader;
    private final Sgd optimizer;
    private final LrSchedule schedule;
    private final int epochs, logEvery;
    private final String task;
    private final StepScalars scalars;
    private long step;
    private final double[] epochSums;
    private long epochImages;
    private String status = "";
    private long stopAt = -1;
    private StepHook profiler;
    private boolean cudaGraph = true;
    private GraphedStep graphed;
    private final Map<String, Double> lastEpoch = new LinkedHashMap<>();

    /**
     * @param scalarNames names of the per-step values {@link #trainStep} returns, the loss first
     */
    protected EpochLoop(String task, TrainingSession session, DataLoader loader, Sgd optimizer, LrSchedule schedule,
                        int epochs, int logEvery, String... scalarNames) {
        this.task = task;
        this.session = session;
        this.loader = loader;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.epochs = epochs;
        this.logEvery = Math.max(1, logEvery);
        this.scalars = new StepScalars(loader.backend(), this.logEvery, scalarNames);
        this.epochSums = new double[scalarNames.length];
    }

    /** One optimisation step on batch b; returns the per-step scalars (rank-0 F32, loss first). */
    protected abstract Tensor[] trainStep(Batch b, int epoch, long step);

    /** Called before the first step of every epoch (after the lr is set): put modules in their modes. */
    protected void beforeEpoch(int epoch) {}

    /** Called after the last step of every epoch, before the checkpoint: validation numbers to log and keep. */
    protected Map<String, Double> endOfEpoch(int epoch) { return Map.of(); }

    public TrainingSession session() { return session; }

    /**
     * Stops the run as Ctrl-C would (checkpoint, then {@link dvp.training.run.RunInterruptedException})
     * once {@code step} steps are done: for a time-boxed run, and for tests of resuming.
     */
    public void stopAt(long step) { stopAt = step; }

    /** Runs around every step: the step profiler of {@code --profile}/{@code --nvtx} (its backend is the one the model is built on). */
    public void profiler(StepHook p) { profiler = p; }

    public long step() { return step; }

    /**
     * Whether a run on the CUDA backend captures its step as a CUDA graph and replays it
     * ({@link GraphedStep}; on by default). No effect on other backends. Set before {@link #run()}.
     */
    public void cudaGraph(boolean on) {
        if (graphed != null) throw new IllegalStateException("cudaGraph(" + on + ") after the first step; set it before run()");
        cudaGraph = on;
    }

    /** The step runner of {@link #trainStep}s, made on first use from the modules the step runs (names prefix their layers in errors). */
    protected final GraphedStep graphedStep(dvp.engine.spi.Backend backend, Map<String, ? extends dvp.nn.Module> modules) {
        if (graphed == null) graphed = new GraphedStep(backend, cudaGraph, optimizer, modules);
        return graphed;
    }

    /** The step runner, or null before the first step. */
    public GraphedStep graphedStep() { return graphed; }

    /** Closes the captured graphs (the trainer's close(), before its scope frees the model they use). */
    protected final void closeGraphs() {
        if (graphed != null) graphed.close();
    }


    public int stepsPerEpoch() { return loader.stepsPerEpoch(); }

    /** The numbers logged for the last completed epoch (means of the step scalars, lr, validation). */
    public Map<String, Double> lastEpochMetrics() { return Map.copyOf(lastEpoch); }

    /** "last epoch: loss 1.234 acc 0.5 lr 0.01 ..." for a command's summary. */
    public String lastEpochMetricsLine() {
        StringBuilder sb = new StringBuilder("last epoch:");
        lastEpoch.forEach((k, v) -> sb.append(' ').append(k).append(' ').append(MetricsFormat.value(v)));
        return sb.toString();
    }

    /** The step counter and the running sums of the current epoch, for the checkpoint. */
    private Stateful loopState() {
        return Stateful.of(out -> {
                    long[] bits = new long[epochSums.length];
                    for (int j = 0; j < bits.length; j++) bits[j] = Double.doubleToRawLongBits(epochSums[j]);
                    out.put("step", step).put("steps_per_epoch", loader.stepsPerEpoch()).put("epoch_sum_bits", bits).put("epoch_images", epochImages);
                },
                in -> {
                    // the step counter means (epoch, batch) only with the same batches per epoch: with another
                    // batch size the run would continue in the middle of an epoch the checkpoint had finished
                    if (in.has("steps_per_epoch") && in.getLong("steps_per_epoch") != loader.stepsPerEpoch())
                        throw new dvp.training.run.BadInputException("the checkpoint was written with " + in.getLong("steps_per_epoch")
                                + " steps per epoch, this run has " + loader.stepsPerEpoch() + " (batch " + loader.batchSize()
                                + "); resume with the --batch-size, --drop-last and data it was written with");
                    step = in.getLong("step");
                    long[] bits = in.getLongs("epoch_sum_bits");
                    if (bits.length != epochSums.length)
                        throw new IllegalStateException("checkpoint loop state has " + bits.length + " running sums, this trainer keeps " + epochSums.length);
                    for (int j = 0; j < bits.length; j++) epochSums[j] = Double.longBitsToDouble(bits[j]);
                    if (in.has("epoch_images")) {
                        epochImages = in.getLong("epoch_images");
                    } else {
                        // a checkpoint from before per-image means kept per-step sums and a step count; the
                        // steps before a mid-epoch checkpoint are full batches, so this conversion is exact
                        int batch = loader.batchSize();
                        for (int j = 0; j < epochSums.length; j++) epochSums[j] *= batch;
                        epochImages = in.getLong("epoch_count") * batch;
                    }
                });
    }

    /**
     * Runs (or, after --resume, continues) the training. Call after every other part of the state
     * is tracked with {@code session.checkpoints().track(...)}.
     */
    public final void run() throws IOException {
        session.checkpoints().track("loop", loopState());
        long resumedAt = session.resume();
        if (resumedAt != step)
            throw new IllegalStateException("resumed checkpoint says step " + resumedAt + " but its loop state says " + step);
        int spe = loader.stepsPerEpoch();
        long total = (long) epochs * spe;
        if (step > total)
            throw new dvp.training.run.BadInputException("the checkpoint is at step " + step + ", beyond this run's " + total
                    + " steps (" + epochs + " epochs of " + spe + "); pass at least as many --epochs as the resumed run");
        if (step == total && session.restored().isPresent()) {
            finished(session.restored().get().manifest().metrics(), total);
            return;
        }
        Flush flush = new Flush(loader.stats(), System.nanoTime());
        try (Progress progress = session.progress(task, total, step)) {
            runEpochs(progress, flush, spe, total);
        } finally {
            // once per run, however it ends: replaced images change what was trained on
            String bad = loader.failures().summary(5);
            if (bad != null) session.warn(bad + " replaced by other training samples, " + loader.failures().count() + " time"
                    + (loader.failures().count() == 1 ? "" : "s") + " in this run");
        }
    }

    private void runEpochs(Progress progress, Flush flush, int spe, long total) throws IOException {
        while (step < total) {
            int epoch = (int) (step / spe);
            int first = (int) (step % spe);
            schedule.apply(optimizer, epoch, 0);
            beforeEpoch(epoch);
            boolean stopAfterEpoch = false;
            try (DataLoader.Epoch it = loader.epoch(epoch)) {
                for (int i = 0; i < first; i++) it.next();
                for (int i = first; i < spe; i++) {
                    Batch b = it.next();
                    if (profiler != null) profiler.beforeStep(step);
                    try (Scope s = Scope.open(task + "-step")) {
                        scalars.record(step + 1, b.size(), trainStep(b, epoch, step));
                    }
                    if (profiler != null) profiler.afterStep(step);
                    step++;
                    boolean stop = StopSignal.requested() || step == stopAt;
                    if (scalars.isFull() || i == spe - 1 || stop) flush = flush(flush, epoch, spe);
                    progress.update(step, status);
                    if (stop) {
                        // on an epoch's last step, close the epoch first (its row, validation and
                        // checkpoint): a resumed run would otherwise skip them and count the
                        // epoch's running sums into the next epoch
                        if (i == spe - 1) stopAfterEpoch = true;
                        else throw new RunInterruptedException(step, session.checkpoints().save(step, epoch, Map.of()));
                    }
                }
            }
            lastEpoch.clear();
            String[] names = scalars.names();
            for (int j = 0; j < names.length; j++) lastEpoch.put(names[j], epochImages == 0 ? Double.NaN : epochSums[j] / epochImages);
            lastEpoch.put("lr", optimizer.groups().getFirst().lr());
            java.util.Arrays.fill(epochSums, 0);
            epochImages = 0;
            Metrics.log(session, "epoch", step, epoch + 1, lastEpoch);
            Map<String, Double> validation = endOfEpoch(epoch);
            if (!validation.isEmpty()) {
                Metrics.log(session, "val", step, epoch + 1, validation);
                lastEpoch.putAll(validation);
            }
            status = epochStatus(epoch + 1, lastEpoch);
            progress.update(step, status);
            Path saved = session.checkpoints().save(step, epoch + 1, lastEpoch);
            if (stopAfterEpoch) throw new RunInterruptedException(step, saved);
        }
    }

    /** A resumed run that had already done every step: says so, and keeps the last epoch's numbers for the summary. */
    private void finished(Map<String, Double> saved, long total) {
        session.log("the run had already finished: all " + epochs + " epochs (" + total + " steps) are done, nothing to train"
                + " (a larger --epochs continues it)");
        lastEpoch.clear();
        if (saved == null) return;
        for (String n : scalars.names()) if (saved.containsKey(n)) lastEpoch.put(n, saved.get(n)); // in the order of a live run
        if (saved.containsKey("lr")) lastEpoch.put("lr", saved.get("lr"));
        saved.forEach(lastEpoch::putIfAbsent);
    }

    private record Flush(LoaderStats stats, long nanos) {}

    /** Reads the recorded steps, checks every loss, logs one train row. */
    private Flush flush(Flush prev, int epoch, int spe) {
        StepScalars.Drained d = scalars.drain();
        if (d.count() == 0) return prev;
        String[] names = scalars.names();
        for (int i = 0; i < d.count(); i++) {
            session.guard().check(d.steps()[i], names[0], d.values()[0][i]);
            // per-image means, as the reference code's AverageMeter: a smaller last batch counts less
            for (int j = 0; j < names.length; j++) epochSums[j] += (double) d.weights()[i] * d.values()[j][i];
            epochImages += d.weights()[i];
        }
        LoaderStats now = loader.stats();
        long t = System.nanoTime();
        double secs = (t - prev.nanos()) / 1e9;
        long images = now.samples() - prev.stats().samples();
        long stepNanos = now.stepNanos() - prev.stats().stepNanos();
        double wait = stepNanos > 0 ? (double) (now.waitNanos() - prev.stats().waitNanos()) / stepNanos : 0;
        var row = session.metrics().row("train", d.steps()[d.count() - 1]);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, epochs));
        for (int j = 0; j < names.length; j++) {
            double m = d.mean(j);
            row.put(names[j], m);
            sb.append(' ').append(names[j]).append(' ').append(MetricsFormat.value(m));
        }
        double lr = optimizer.groups().getFirst().lr();
        row.put("lr", lr).put("img_per_s", secs > 0 ? images / secs : 0).put("data_wait", wait).put("epoch", epoch + 1).log();
        sb.append(String.format(Locale.ROOT, " lr %.4g %.0f img/s", lr, secs > 0 ? images / secs : 0));
        status = sb.toString();
        return new Flush(now, t);
    }

    private String epochStatus(int epoch, Map<String, Double> m) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "epoch %d/%d done", epoch, epochs));
        m.forEach((k, v) -> { if (!k.equals("lr")) sb.append(' ').append(k).append(' ').append(MetricsFormat.value(v)); });
        return sb.toString();
    }

    /** Logging helpers shared by the phases. */
    static final class Metrics {
        private Metrics() {}

        /** One row of a group whose columns never change (train means in "epoch", validation in "val"). */
        static void log(TrainingSession s, String group, long step, int epoch, Map<String, Double> values) {
            var row = s.metrics().row(group, step).put("epoch", epoch);
            values.forEach(row::put);
            row.log();
        }
    }
}
