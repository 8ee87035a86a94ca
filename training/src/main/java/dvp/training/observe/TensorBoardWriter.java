package dvp.training.observe;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes scalars as a TensorBoard event file ({@code events.out.tfevents.<secs>.<host>}) that
 * {@code tensorboard --logdir} reads. Encoding, from TensorBoard's event.proto and summary.proto:
 * <pre>
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
 *             SessionLog session_log = 6; }
 *   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
 *   SessionLog { SessionStatus status = 1; }  (START = 1)
 * </pre>
 * The first record is always {@code file_version = "brain.Event:2"}. Scalars use the legacy
 * {@code simple_value} field, which every TensorBoard version reads. Output is buffered and
 * flushed by {@link #flush()} (the metrics log calls it every few seconds) and on close;
 * TensorBoard tails the file, so a flush makes new points appear.
 */
public final class TensorBoardWriter implements Closeable {
    private final Path file;
    private final OutputStream stream;
    private final TfRecordWriter records;

    private TensorBoardWriter(Path file) throws IOException {
        this.file = file;
        this.stream = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), 1 << 16);
        this.records = new TfRecordWriter(stream);
        records.write(new ProtoWriter().doubleField(1, now()).varintField(2, 0).stringField(3, "brain.Event:2").toByteArray());
        records.flush();
    }

    /** A new event file in dir (created if needed). */
    public static TensorBoardWriter create(Path dir) throws IOException {
        Files.createDirectories(dir);
        String base = "events.out.tfevents." + (System.currentTimeMillis() / 1000) + "." + hostName();
        Path f = dir.resolve(base);
        // a second writer in the same second (a quick resume) gets a distinct name; TensorBoard reads every
        // file whose name contains "tfevents"
        for (int i = 1; Files.exists(f); i++) f = dir.resolve(base + "." + i);
        return new TensorBoardWriter(f);
    }

    public Path file() { return file; }

    public void scalar(String tag, long step, double wallTime, float value) {
        ProtoWriter v = new ProtoWriter().stringField(1, tag).floatField(2, value);
        ProtoWriter summary = new ProtoWriter().messageField(1, v);
        write(new ProtoWriter().doubleField(1, wallTime).varintField(2, step).messageField(5, summary));
    }

    /**
     * Marks a (re)start at step: TensorBoard then discards points of earlier files with a larger
     * step, so a run resumed from a checkpoint shows no duplicated tail.
     */
    public void sessionStart(long step) {
        ProtoWriter log = new ProtoWriter().varintField(1, 1);
        write(new ProtoWriter().doubleField(1, now()).varintField(2, step).messageField(6, log));
    }

    private void write(ProtoWriter event) {
        try {
            records.write(event.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(dvp.training.run.AtomicFiles.naming(file, e));
        }
    }

    public void flush() {
        try {
            records.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(dvp.training.run.AtomicFiles.naming(file, e));
        }
    }

    @Override
    public void close() throws IOException { stream.close(); }

    private static double now() { return System.currentTimeMillis() / 1000.0; }

    /** The host name without asking DNS (which can hang on machines without a network). */
    static String hostName() {
        String h = null;
        try {
            h = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        } catch (IOException | RuntimeException e) {
            try {
                h = InetAddress.getLocalHost().getHostName();
            } catch (IOException ignored) {
                // keep null
            }
        }
        if (h == null || h.isBlank()) h = "localhost";
        return h.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
