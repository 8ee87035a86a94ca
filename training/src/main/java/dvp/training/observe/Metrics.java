package dvp.training.observe;

import dvp.training.run.RunDir;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * The metrics log of a run: every row goes to {@code metrics/<group>.csv}, {@code metrics/metrics.jsonl},
 * TensorBoard (optional) and the in-memory {@link MetricHistory} the end-of-run plots are drawn from.
 *
 * <pre>
 *   metrics.row("train", step).put("loss", loss).put("lr", lr).log();
 * </pre>
 *
 * Resuming: {@link #open} with the checkpoint's step drops rows logged after it (they will be
 * logged again by the resumed run), reloads the history from metrics.jsonl, and marks the restart
 * in the new TensorBoard file. Convention this relies on: a trainer logs everything of step S
 * before it saves the checkpoint of step S. Writers are flushed every few seconds, on close, and
 * durably before every checkpoint ({@link #flushDurably}): rows up to a checkpoint's step are on
 * disk whenever the checkpoint is, so a run killed with SIGKILL and resumed loses none.
 */
public final class Metrics implements Closeable {
    private static final long FLUSH_NANOS = 3_000_000_000L;
    private final List<MetricSink> sinks = new ArrayList<>();
    private final MetricHistory history = new MetricHistory();
    private final Path jsonl;
    private long lastFlush = System.nanoTime();

    private Metrics(Path dir) { this.jsonl = dir.resolve("metrics.jsonl"); }

    /**
     * @param resumedFromStep the step of the checkpoint a resumed run continues from, or -1 for a new run
     * @param tensorboardDir  where to write event files, or null for none
     */
    public static Metrics open(Path metricsDir, Path tensorboardDir, long resumedFromStep) throws IOException {
        Metrics m = new Metrics(metricsDir);
        try {
            if (resumedFromStep >= 0) {
                CsvMetricSink.truncateAfter(metricsDir, resumedFromStep);
                JsonlMetricSink.truncateAfter(m.jsonl, resumedFromStep);
                for (MetricRow r : JsonlMetricSink.read(m.jsonl)) m.history.write(r);
            } else {
                // a new run in a folder whose earlier run died before its first checkpoint: those rows describe nothing kept
                deleteLogs(metricsDir, "glob:**/{*.csv,metrics.jsonl}");
                if (tensorboardDir != null) deleteLogs(tensorboardDir, "glob:**/events.out.tfevents.*");
            }
            m.sinks.add(new CsvMetricSink(metricsDir));
            m.sinks.add(new JsonlMetricSink(m.jsonl));
            if (tensorboardDir != null) {
                TensorBoardWriter tb = TensorBoardWriter.create(tensorboardDir);
                if (resumedFromStep >= 0) tb.sessionStart(resumedFromStep + 1);
                m.sinks.add(new TensorBoardSink(tb));
            }
            m.sinks.add(m.history);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    private static void deleteLogs(Path dir, String glob) throws IOException {
        if (!java.nio.file.Files.isDirectory(dir)) return;
        var match = dir.getFileSystem().getPathMatcher(glob);
        try (var files = java.nio.file.Files.list(dir)) {
            for (Path f : files.filter(match::matches).toList()) java.nio.file.Files.delete(f);
        }
    }

    public static Metrics open(RunDir run, boolean tensorboard, long resumedFromStep) throws IOException {
        return open(run.metricsDir(), tensorboard ? run.tensorboardDir() : null, resumedFromStep);
    }

    /** Starts a row; add values with {@link Row#put} and finish with {@link Row#log}. */
    public Row row(String group, long step) { return new Row(group, step); }

    public synchronized void log(MetricRow row) {
        try {
            for (MetricSink s : sinks) s.write(row);
            if (System.nanoTime() - lastFlush > FLUSH_NANOS) flush();
        } catch (IOException e) {
            throw new UncheckedIOException("writing metrics: " + e.getMessage(), e);
        }
    }

    public synchronized void flush() {
        try {
            for (MetricSink s : sinks) s.flush();
            lastFlush = System.nanoTime();
        } catch (IOException e) {
            throw new UncheckedIOException("writing metrics: " + e.getMessage(), e);
        }
    }

    /** Flushes every writer and forces the files to disk (called before each checkpoint is written). */
    public synchronized void flushDurably() throws IOException {
        flush();
        for (MetricSink s : sinks) s.sync();
    }

    public MetricHistory history() { return history; }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (MetricSink s : sinks) {
            try {
                s.flush();
                s.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        sinks.clear();
        if (first != null) throw first;
    }

    /** A row being built; values keep the order they were put in (the CSV column order). */
    public final class Row {
        private final String group;
        private final long step;
        private final SequencedMap<String, Double> values = new LinkedHashMap<>();

        private Row(String group, long step) {
            this.group = group;
            this.step = step;
        }

        public Row put(String name, double value) {
            values.put(name, value);
            return this;
        }

        public void log() { Metrics.this.log(new MetricRow(group, step, System.currentTimeMillis() / 1000.0, values)); }
    }
}
