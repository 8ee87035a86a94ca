package dvp.training.run;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A loss (or another watched value) became NaN or infinite; training stopped at that step without
 * writing anything over the last good checkpoint. Exit code 6.
 */
public final class NonFiniteLossException extends RuntimeException {
    private final long step;
    private final String name;
    private final double value;
    private final Path lastGoodCheckpoint;

    public NonFiniteLossException(long step, String name, double value, Optional<Path> lastGoodCheckpoint) {
        super(name + " is " + value + " at step " + step + "; training stopped. "
                + lastGoodCheckpoint.map(p -> "Last good checkpoint: " + p + " (resume with --resume " + p
                        + ", e.g. with a lower learning rate)")
                .orElse("No checkpoint had been written yet."));
        this.step = step;
        this.name = name;
        this.value = value;
        this.lastGoodCheckpoint = lastGoodCheckpoint.orElse(null);
    }

    public long step() { return step; }

    public String name() { return name; }

    public double value() { return value; }

    public Optional<Path> lastGoodCheckpoint() { return Optional.ofNullable(lastGoodCheckpoint); }
}
