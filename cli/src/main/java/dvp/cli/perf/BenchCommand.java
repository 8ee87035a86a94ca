package dvp.cli.perf;

import dvp.cli.ComputeOptionsMixin;
import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.cli.HelpAppendix;
import dvp.engine.spi.Backend;
import dvp.training.perf.BenchReport;
import dvp.training.perf.BenchRun;
import dvp.training.perf.Compare;
import dvp.training.perf.Scenarios;
import dvp.training.perf.Warmup;
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
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchCommand.CompareCommand.class, BenchCommand.ReportCommand.class},
        description = {"Times scenarios: per workload warm-up runs until the timing is stable, then timed samples (device events on "
                + "a GPU, wall time on the CPU), reported as median ms with the IQR, img/s, GFLOP/s and GB/s (FLOPs and bytes from shapes) and their %% of this "
                + "device's measured ceilings; optionally written as a results JSON file for 'dvp bench compare'. On a simulated "
                + "device (DVP_CUDA_SIM=1) every figure is labelled 'simulated, not a speed' (table, JSON, compare, report).", "",
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

    @Mixin
    ComputeOptionsMixin compute;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3",
            description = "Untimed runs per workload first, at least; then more, 5 at a time, until the medians of three successive "
                    + "5-run windows agree within --warmup-tolerance (or --warmup-max-seconds of runs are spent: the table then says "
                    + "'unstable'). Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--warmup-tolerance", paramLabel = "PCT", defaultValue = "5",
            description = "How close successive warm-up medians must be, in percent of the earlier one. Default: ${DEFAULT-VALUE}.")
    double warmupTolerance;

    @Option(names = "--warmup-max-seconds", paramLabel = "S", defaultValue = "10",
            description = "Run time after which the warm-up of a workload stops anyway (0: exactly --warmup runs). Default: ${DEFAULT-VALUE}.")
    double warmupMaxSeconds;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "10", description = "Timed runs per workload. Default: ${DEFAULT-VALUE}.")
    int samples;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the results file (docs/results-schema.md).")
    Path json;

    @Option(names = "--cuda-graph",
            description = "Graph mode: the training scenarios (resnet18-train, resnet50-train, moco-step, distill-step) run their step as "
                    + "the trainers do on --device cuda: captured once as a CUDA graph after two op-by-op runs, then replayed per run "
                    + "(the inputs copied in first). Their settings record mode: cuda-graph. No effect on the other scenarios or on the "
                    + "CPU. Use --warmup 3 or more so the capture is not timed.")
    boolean cudaGraph;

    @Option(names = "--channels-last",
            description = "The training scenarios (resnet18-train, resnet50-train, moco-step, distill-step) run their networks "
                    + "channels-last (NHWC activations; MoCo: both encoders; distill: student and teacher), as the training "
                    + "commands' --channels-last does. Their settings record memory_format: channels_last (else contiguous (NCHW)), "
                    + "the names bench/pytorch/gpu_baselines.py uses. No effect on the other scenarios.")
    boolean channelsLast;

    @Override
    public Integer call() throws Exception {
        List<String> names = scenarios.isEmpty() ? Scenarios.NAMES : scenarios;
        for (String n : names)
            if (!Scenarios.NAMES.contains(n))
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown scenario '" + n + "' (known: " + String.join(", ", Scenarios.NAMES) + ")");
        Backend backend = compute.configure(dvp.device().select(spec.commandLine().getErr()), spec.commandLine().getErr());
        var s = new BenchRun.Settings(names, scenarioOptions.toOptions(dvp.seed()).withCudaGraph(cudaGraph).withChannelsLast(channelsLast), new Warmup.Policy(warmup, warmupTolerance, warmupMaxSeconds),
                samples, json, ceilings.file(), ceilings.remeasure,
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
                    + "'within spread'; a rate such as GFLOP/s is judged by the IQR of the time it was computed from).", ""})
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

    /** {@code dvp bench report --ours L=FILES --baseline L=FILES ... --out DIR}. */
    @Command(name = "report", mixinStandardHelpOptions = true,
            description = {"Puts series of results files side by side (ours in one or more modes; baselines such as "
                    + "bench/pytorch/gpu_baselines.py's): writes DIR/table.md (each workload's median per series, how many "
                    + "times better each of ours is than each baseline, per-scenario geometric means, settings that differ, "
                    + "scenarios not measured), DIR/chart.png (bar chart: speed relative to the reference baseline) and "
                    + "DIR/chart.csv. Missing or unreadable files are reported in the table, not fatal.", ""},
            footerHeading = "%n",
            footer = {"Example: dvp bench report --out cmp --ours 'dvp fp32=ours/' --baseline 'torch eager fp32=torch-fp32.json' "
                    + "--baseline 'torch amp bf16=torch-amp.json'"})
    static final class ReportCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--ours", paramLabel = "LABEL=FILE[,FILE...]", required = true,
                description = "A series of ours: its label and results files (or folders of *.json). Repeatable.")
        List<String> ours = new ArrayList<>();

        @Option(names = "--baseline", paramLabel = "LABEL=FILE[,FILE...]", required = true,
                description = "A baseline series; the first is the chart's reference. Repeatable.")
        List<String> baselines = new ArrayList<>();

        @Option(names = "--out", paramLabel = "DIR", required = true, description = "Folder for table.md, chart.png, chart.csv.")
        Path out;

        @Option(names = "--title", paramLabel = "TEXT", defaultValue = "dvp vs baselines", description = "Title of table and chart.")
        String title;

        @Option(names = "--note", paramLabel = "TEXT", description = "A line for the top of table.md (repeatable).")
        List<String> notes = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            List<BenchReport.Series> series = new ArrayList<>();
            for (String o : ours) series.add(BenchReport.Series.parse(o, true));
            for (String b : baselines) series.add(BenchReport.Series.parse(b, false));
            BenchReport.write(series, out, title, notes, spec.commandLine().getOut());
            return ExitCodes.OK;
        }
    }
}
