package dvp.cli;

import dvp.training.observe.ProgressMode;
import dvp.training.session.SessionOptions;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The run-folder options every training command shares ({@code @Mixin SessionOptionsMixin run;}),
 * turned into {@link SessionOptions} for {@link dvp.training.session.TrainingSession}.
 */
public final class SessionOptionsMixin {
    @Option(names = "--runs-dir", paramLabel = "DIR", defaultValue = "runs",
            description = "Where new run folders are created. Default: ${DEFAULT-VALUE}.")
    Path runsDir = Path.of("runs");

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "Use exactly this run folder (instead of a new <runs-dir>/<name>-<date>-<time>).")
    Path runDir;

    @Option(names = "--name", paramLabel = "NAME", description = "Prefix of the new run folder's name. Default: the command's name.")
    String name;

    @Option(names = "--resume", paramLabel = "PATH",
            description = "Continue from a checkpoint: a checkpoint folder, a checkpoints folder or a run folder (its checkpoints/last), "
                    + "with the options the run was started with (recorded in its config.json): --resume RUN_FOLDER alone is enough. "
                    + "An option given again must have its recorded value, except --epochs (to extend the run; the learning-rate "
                    + "schedule follows the new length), --workers, --progress, --device, --precision, --deterministic, --debug, --tensorboard, --plots, "
                    + "--eval-batch-size, --profile, --profile-steps, --nvtx, --cuda-graph and --channels-last. On the CPU the result is bit-identical to an "
                    + "uninterrupted run.")
    Path resume;

    /** --precision, --deterministic: every training command has them; apply them where the backend is chosen. */
    @Mixin
    public ComputeOptionsMixin compute = new ComputeOptionsMixin();

    @Option(names = "--tensorboard", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Write TensorBoard event files into the run folder (default: on).")
    boolean tensorboard = true;

    @Option(names = "--plots", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Draw PNG curves of the metrics at the end of the run (default: on).")
    boolean plots = true;

    /** @param spec the command being run: its options are recorded for {@code --resume} ({@link ResumeArgs}) */
    public SessionOptions toSessionOptions(ProgressMode progress, CommandLine.Model.CommandSpec spec) {
        return new SessionOptions(runsDir, runDir, name, resume, progress, tensorboard, plots, ResumeArgs.record(spec));
    }
}
