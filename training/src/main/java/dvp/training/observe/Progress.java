package dvp.training.observe;

import java.io.PrintStream;

/**
 * Progress of a long task (a training run counted in steps). Trainers call {@link #update} once per
 * step with a short status ("epoch 3/200 loss 4.12"); the implementation decides what to draw:
 * a redrawn bar ({@link BarProgress}), a plain line every few seconds ({@link PlainProgress}), or
 * nothing. Progress goes to standard error; standard output stays for results.
 */
public interface Progress extends AutoCloseable {
    /** done: steps completed so far (absolute, counting steps before a resume); message may be null. */
    void update(long done, String message);

    @Override
    void close();

    /**
     * @param mode  as given by the user ({@code AUTO} is resolved here)
     * @param start steps already done before this process (a resumed run), shown as done
     */
    static Progress start(ProgressMode mode, String task, long total, long start, String unit) {
        return switch (mode.resolve()) {
            case BAR -> new BarProgress(task, total, start, unit);
            case PLAIN -> new PlainProgress(task, total, start, unit, System.err, PlainProgress.DEFAULT_INTERVAL_NANOS);
            case NONE, AUTO -> none();
        };
    }

    static Progress plain(String task, long total, long start, String unit, PrintStream out, long intervalNanos) {
        return new PlainProgress(task, total, start, unit, out, intervalNanos);
    }

    static Progress none() {
        return new Progress() {
            @Override
            public void update(long done, String message) {}

            @Override
            public void close() {}
        };
    }
}
