package dvp.training.observe;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.time.Duration;

/** A terminal progress bar (me.tongfei:progressbar; redrawn from its own thread on stderr). */
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
