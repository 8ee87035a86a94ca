package dvp.training.observe;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress as plain lines, for logs and CI: one line when the task starts, then at most one line
 * every interval (10 s by default), and one when it ends. No control characters.
 * <pre>  [pretrain] 120/400 steps (30.0%)  2.10 steps/s  eta 2m13s  epoch 3/10 loss 4.1234</pre>
 */
final class PlainProgress implements Progress {
    static final long DEFAULT_INTERVAL_NANOS = 10_000_000_000L;
    private final String task;
    private final long total;
    private final long start;
    private final String unit;
    private final PrintStream out;
    private final long interval;
    private final long t0 = System.nanoTime();
    private long lastPrint;
    private long done;
    private String message;
    private boolean closed;

    PlainProgress(String task, long total, long start, String unit, PrintStream out, long intervalNanos) {
        this.task = task;
        this.total = total;
        this.start = start;
        this.unit = unit;
        this.out = out;
        this.interval = intervalNanos;
        this.done = start;
        this.lastPrint = t0;
        out.println("[" + task + "] " + (start > 0 ? "resuming at " + start + "/" + total : "starting: " + total) + " " + unit + "s");
        out.flush();
    }

    @Override
    public synchronized void update(long done, String message) {
        this.done = done;
        if (message != null) this.message = message;
        long now = System.nanoTime();
        if (now - lastPrint >= interval) {
            lastPrint = now;
            print(now, false);
        }
    }

    private void print(long now, boolean finished) {
        double secs = (now - t0) / 1e9;
        long doneHere = done - start;
        double rate = secs > 0 ? doneHere / secs : 0;
        StringBuilder sb = new StringBuilder();
        sb.append('[').append(task).append("] ").append(done).append('/').append(total).append(' ').append(unit).append('s');
        if (total > 0) sb.append(String.format(Locale.ROOT, " (%.1f%%)", 100.0 * done / total));
        sb.append(String.format(Locale.ROOT, "  %.2f %ss/s", rate, unit));
        if (finished) sb.append("  done in ").append(duration(secs));
        else if (rate > 0 && total > done) sb.append("  eta ").append(duration((total - done) / rate));
        if (message != null && !message.isBlank()) sb.append("  ").append(message);
        out.println(sb);
        out.flush();
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        print(System.nanoTime(), true);
    }
}
