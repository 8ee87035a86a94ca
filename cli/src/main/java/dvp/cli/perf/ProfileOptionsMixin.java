package dvp.cli.perf;

import dvp.training.perf.StepProfiler;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --profile}, {@code --profile-steps} and {@code --nvtx} for training commands ({@code
 * @Mixin ProfileOptionsMixin profiling;}); {@link #toOptions} gives the {@link StepProfiler}
 * options (see its javadoc for the three calls a trainer adds).
 */
public final class ProfileOptionsMixin {
    @Option(names = "--profile", description = "Profile a window of training steps (--profile-steps) and write profile.txt (per-op table), "
            + "trace.json (Chrome/Perfetto) and profile.json (results) into the run folder's profile/.")
    boolean profile;

    @Option(names = "--profile-steps", paramLabel = "FIRST:COUNT", defaultValue = "10:5",
            description = "Which steps --profile records. Default: ${DEFAULT-VALUE} (after warm-up and data-loader start).")
    String steps;

    @Option(names = "--nvtx", description = "NVTX ranges around every step (and with --profile every op of the window) for Nsight Systems.")
    boolean nvtx;

    public StepProfiler.Options toOptions(CommandLine commandLine) {
        String[] p = steps.split(":");
        long first, count;
        try {
            if (p.length != 2) throw new NumberFormatException();
            first = Long.parseLong(p[0].strip());
            count = Long.parseLong(p[1].strip());
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(commandLine, "--profile-steps must be FIRST:COUNT (e.g. 10:5), got '" + steps + "'");
        }
        if (first < 0 || count < 1)
            throw new CommandLine.ParameterException(commandLine, "--profile-steps: FIRST must be >= 0 and COUNT >= 1, got '" + steps + "'");
        return new StepProfiler.Options(profile, first, count, nvtx);
    }
}
