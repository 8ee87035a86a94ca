package dvp.training.run;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Stops training at the first NaN/Inf loss, naming the step and the last good checkpoint. Reading a
 * loss is a device→host sync: trainers call {@link #check} where they read the loss anyway (for
 * the progress line / metrics). The checkpoint writer separately refuses to save non-finite
 * weights, so a value that slips between checks still never reaches a checkpoint.
 */
public final class NonFiniteGuard {
    private final Supplier<Optional<Path>> lastCheckpoint;

    /** lastCheckpoint: where the newest good checkpoint is (e.g. {@code checkpointer::last}). */
    public NonFiniteGuard(Supplier<Optional<Path>> lastCheckpoint) { this.lastCheckpoint = lastCheckpoint; }

    /** Returns value if it is finite, else throws {@link NonFiniteLossException}. */
    public double check(long step, String name, double value) {
        if (!Double.isFinite(value)) throw new NonFiniteLossException(step, name, value, lastCheckpoint.get());
        return value;
    }

    public float check(long step, String name, float value) {
        check(step, name, (double) value);
        return value;
    }
}
