package dvp.training.checkpoint;

import dvp.training.run.BadInputException;

import java.nio.file.Path;

/**
 * A checkpoint that cannot be used: missing, corrupt, written by another program, or not matching
 * the model/trainer it is loaded into. The message names the checkpoint and the problem.
 */
public final class CheckpointException extends BadInputException {
    public CheckpointException(Path checkpoint, String problem) { super("checkpoint " + checkpoint + ": " + problem); }

    public CheckpointException(Path checkpoint, String problem, Throwable cause) {
        super("checkpoint " + checkpoint + ": " + problem, cause);
    }
}
