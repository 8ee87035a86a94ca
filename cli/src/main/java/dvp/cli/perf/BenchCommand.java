package dvp.cli.perf;

import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.cli.HelpAppendix;
import dvp.engine.spi.Backend;
import dvp.training.perf.BenchRun;
import dvp.training.perf.Compare;
import dvp.training.perf.Scenarios;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dvp bench}: timed scenarios (warm-up, medians, spread) written as a results file; {@code
 * dvp bench compare A.json B.json} prints the ratio of every figure. See {@link BenchRun}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = BenchCommand.CompareCommand.class,
        description = {"Times scenarios: per workload warm-up runs then timed samples (device events on a GPU, wall time on the CPU), "
                + "reported as median ms with the IQR, img/s, GFLOP/s and GB/s (FLOPs and bytes from shapes) and their %% of this "
                + "device's measured ceilings; optionally written as a results JSON file for 'dvp bench compare'.", "",
                "Scenarios:"},
        footerHeading = "%n",
        footer = {"Example: dvp bench --device cpu -s resnet18-train,gemm --json before.json; then after a change: "
                + "dvp bench ... --json after.json && dvp bench compare before.json after.json"})
public final class BenchCommand implements Callable<Integer>, HelpAppendix {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-s", "--scenario"}, paramLabel = "NAME", split = ",", completionCandidates = ProfileCommand.ScenarioNames.class,
            description = "Scenarios to run, comma-separated or repeated. Default: all, in the order listed above.")
    List<String> scenarios = new ArrayList<>();

    @Mixin
    ScenarioOptionsMixin scenarioOptions;

    @Mixin
    CeilingsOptions ceilings;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "Untimed runs per workload first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "10", description = "Timed runs per workload. Default: ${DEFAULT-VALUE}.")
    int samples;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results file (docs/results-schema.md).")
    Path json;

    @Override
    public Integer call() throws Exception {
        List<String> names = scenarios.isEmpty() ? Scenarios.NAMES : scenarios;
        for (String n : names)
            if (!Scenarios.NAMES.contains(n))
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown scenario '" + n + "' (known: " + String.join(", ", Scenarios.NAMES) + ")");
        Backend backend = dvp.device().select(spec.commandLine().getErr());
        var s = new BenchRun.Settings(names, scenarioOptions.toOptions(dvp.seed()), warmup, samples, json, ceilings.file(), ceilings.remeasure,
                ProfileCommand.commandLine(spec));
        BenchRun.run(backend, s, spec.commandLine().getOut(), spec.commandLine().getErr());
        return ExitCodes.OK;
    }

    @Override
    public List<String> descriptionAppendix() { return ProfileCommand.scenarioList(); }

    /** {@code dvp bench compare A.json B.json}. */
    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = {"Prints every figure of two results files (of dvp bench or dvp profile) side by side: the medians, B/A, "
                    + "and whether B is better or worse in the figure's direction (changes smaller than the larger IQR are "
                    + "'within spread').", ""})
    static final class CompareCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "A.json", description = "The baseline results file.")
        Path a;

        @Parameters(index = "1", paramLabel = "B.json", description = "The results file compared with it.")
        Path b;

        @Override
        public Integer call() throws Exception {
            Compare.print(a, b, spec.commandLine().getOut());
            return ExitCodes.OK;
        }
    }
}
