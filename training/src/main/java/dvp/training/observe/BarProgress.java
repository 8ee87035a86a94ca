package dvp.training.observe;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.time.Duration;

/**
 * A terminal progress bar (me.tongfei:progressbar; redrawn from its own thread on stderr). It is
 * given its consumer and width, so the library never opens a JLine terminal: JLine would replace
 * dvp's SIGINT handler ({@link dvp.training.run.StopSignal}) with the default one.
 */
final class BarProgress implements Progress {
    private final ProgressBar bar;

    BarProgress(String task, long total, long start, String unit) {
        bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                .setUpdateIntervalMillis(500)
                .setUnit(" " + unit, 1)
                .showSpeed()
                .startsFrom(start, Duration.ZERO)
                .setConsumer(new ConsoleProgressBarConsumer(System.err, Terminal.stderrColumns() - 1))
                .build();
    }

    @Override
    public void update(long done, String message) {
        bar.stepTo(done);
        if (message != null) bar.setExtraMessage(" " + message);
    }

    @Override
    public void close() { bar.close(); }
}
