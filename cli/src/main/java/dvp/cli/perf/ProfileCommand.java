package dvp.cli.perf;

import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.cli.HelpAppendix;
import dvp.engine.spi.Backend;
import dvp.training.perf.ProfileRun;
import dvp.training.perf.Scenarios;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code dvp profile [SCENARIO]}: the per-op table of a training step or op, a Chrome trace and a
 * results file. See {@link ProfileRun} and docs/profiling.md.
 */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Runs warm-up steps, then unprofiled steps alternating with profiled ones, of a scenario and prints a per-op "
                + "table: op, calls, total and mean time, %% of the step, bytes and FLOPs per call (from shapes), achieved GB/s and "
                + "GFLOP/s and their %% of this device's measured copy bandwidth and best GEMM, and shapes. Times are wall time on the "
                + "CPU and device times (events) on a GPU. Optionally writes a Chrome/Perfetto trace and a results JSON file. On a "
                + "simulated device (DVP_CUDA_SIM=1) every figure is labelled 'simulated, not a speed'.", "",
                "Scenarios:"},
        footerHeading = "%n",
        footer = {"Example: dvp profile resnet18-train --device cpu --batch 8 --resolution 64 --trace trace.json --json profile.json"})
public final class ProfileCommand implements Callable<Integer>, HelpAppendix {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "SCENARIO", defaultValue = "resnet18-train", completionCandidates = ScenarioNames.class,
            description = "What to profile (see the list above). Default: ${DEFAULT-VALUE}.")
    String scenario;

    @Mixin
    ScenarioOptionsMixin scenarioOptions;

    @Mixin
    CeilingsOptions ceilings;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "Warm-up steps of each kind (not reported). Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--steps", paramLabel = "M", defaultValue = "5", description = "Profiled steps (and as many unprofiled ones). Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--group-by", paramLabel = "shapes|op", defaultValue = "shapes",
            description = "Table rows per op and shapes, or per op. Default: ${DEFAULT-VALUE}.")
    String groupBy;

    @Option(names = "--top", paramLabel = "N", defaultValue = "25", description = "Rows shown (the rest in one line; the JSON has all). Default: ${DEFAULT-VALUE}.")
    int top;

    @Option(names = "--trace", paramLabel = "FILE", description = "Write a Chrome trace-event JSON file (Perfetto, chrome://tracing).")
    Path trace;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results file (docs/results-schema.md).")
    Path json;

    @Option(names = "--nvtx", description = "Also push NVTX ranges around ops and steps (for Nsight Systems; needs libnvToolsExt, see dvp doctor).")
    boolean nvtx;

    @Override
    public Integer call() throws Exception {
        if (!groupBy.equals("shapes") && !groupBy.equals("op"))
            throw new CommandLine.ParameterException(spec.commandLine(), "--group-by must be 'shapes' or 'op', got '" + groupBy + "'");
        Backend backend = dvp.device().select(spec.commandLine().getErr());
        var s = new ProfileRun.Settings(scenario, scenarioOptions.toOptions(dvp.seed()), warmup, steps, groupBy.equals("shapes"), top, nvtx,
                trace, json, ceilings.file(), ceilings.remeasure, commandLine(spec));
        ProfileRun.run(backend, s, spec.commandLine().getOut(), spec.commandLine().getErr());
        return ExitCodes.OK;
    }

    static String commandLine(CommandLine.Model.CommandSpec spec) {
        return "dvp " + String.join(" ", spec.root().commandLine().getParseResult().originalArgs());
    }

    @Override
    public java.util.List<String> descriptionAppendix() { return scenarioList(); }

    /** Width of the help's lines (picocli's default). */
    private static final int HELP_WIDTH = 80;

    /**
     * The catalog for the usage help: one entry per scenario, wrapped here under its description's
     * column (picocli would wrap a long entry back to column 0, where it reads as a new scenario).
     */
    static java.util.List<String> scenarioList() {
        java.util.List<String> lines = new java.util.ArrayList<>();
        for (String entry : Scenarios.DESCRIPTIONS) {
            String line = "  " + entry;
            int column = line.indexOf(' ', 2);
            while (column < line.length() && line.charAt(column) == ' ') column++;
            String indent = " ".repeat(column);
            while (line.length() > HELP_WIDTH - 1) {
                int cut = line.lastIndexOf(' ', HELP_WIDTH - 1);
                if (cut <= column) break;
                lines.add(line.substring(0, cut));
                line = indent + line.substring(cut + 1);
            }
            lines.add(line);
        }
        return lines;
    }

    static final class ScenarioNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() { return Scenarios.NAMES.iterator(); }
    }
}
