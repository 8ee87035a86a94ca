package dvp.training.run;

import java.nio.file.Path;

/**
 * The run was asked to stop (Ctrl-C / SIGTERM, see {@link StopSignal}) and stopped cleanly after
 * writing a checkpoint; exit code 5. The message says how to continue.
 */
public final class RunInterruptedException extends RuntimeException {
    private final long step;
    private final Path checkpoint;

    public RunInterruptedException(long step, Path checkpoint) {
        super("interrupted at step " + step + "; checkpoint written to " + checkpoint
                + " (continue with --resume " + checkpoint + ")");
        this.step = step;
        this.checkpoint = checkpoint;
    }

    public long step() { return step; }

    public Path checkpoint() { return checkpoint; }
}
