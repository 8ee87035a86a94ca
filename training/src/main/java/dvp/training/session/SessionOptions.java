package dvp.training.session;

import dvp.training.observe.ProgressMode;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where and how a training command keeps its run folder (the command line's common options).
 *
 * @param runsRoot    parent of new run folders ({@code runs/} by default)
 * @param runDir      an exact run folder to use instead of a new one under runsRoot (may be null)
 * @param name        prefix of a new run folder's name (null: the command's name)
 * @param resume      a checkpoint, checkpoints folder or run folder to continue from (may be null)
 * @param progress    progress display
 * @param tensorboard whether to write TensorBoard event files
 * @param plots       whether to draw PNG curves at the end
 * @param commandLine the command and its options as given (config.json's {@code "command_line"}, from which
 *                    {@code --resume} alone restores them), or null when the run does not come from a command line
 */
public record SessionOptions(Path runsRoot, Path runDir, String name, Path resume, ProgressMode progress,
                             boolean tensorboard, boolean plots, Map<String, Object> commandLine) {
    public static SessionOptions defaults() {
        return new SessionOptions(Path.of("runs"), null, null, null, ProgressMode.AUTO, true, true, null);
    }

    public SessionOptions withRunDir(Path dir) { return new SessionOptions(runsRoot, dir, name, resume, progress, tensorboard, plots, commandLine); }

    public SessionOptions withResume(Path from) { return new SessionOptions(runsRoot, runDir, name, from, progress, tensorboard, plots, commandLine); }

    public SessionOptions withProgress(ProgressMode p) { return new SessionOptions(runsRoot, runDir, name, resume, p, tensorboard, plots, commandLine); }

    public SessionOptions withCommandLine(Map<String, Object> c) {
        return new SessionOptions(runsRoot, runDir, name, resume, progress, tensorboard, plots, c);
    }
}
