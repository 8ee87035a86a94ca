package dvp.cli;

import dvp.cli.doctor.DoctorCommand;
import dvp.cli.train.DemoCommand;
import dvp.cli.train.DistillCommand;
import dvp.cli.train.EvaluateCommand;
import dvp.cli.train.FinetuneCommand;
import dvp.cli.train.LinearEvalCommand;
import dvp.cli.train.PipelineCommand;
import dvp.cli.train.PredictCommand;
import dvp.cli.train.PretrainCommand;
import dvp.cli.train.StudyCommand;
import dvp.cli.perf.BenchCommand;
import dvp.cli.perf.ProfileCommand;
import dvp.cli.selftest.SelfTestCommand;
import dvp.training.observe.ProgressMode;
import dvp.training.run.StopSignal;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The {@code dvp} command. Options marked global are accepted before or after the subcommand
 * ({@code dvp --device cpu doctor} = {@code dvp doctor --device cpu}); subcommands read them from
 * here through {@code @ParentCommand}.
 */
@Command(name = "dvp",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        subcommands = {PretrainCommand.class, LinearEvalCommand.class, FinetuneCommand.class, DistillCommand.class, EvaluateCommand.class,
                PredictCommand.class, PipelineCommand.class, DemoCommand.class, StudyCommand.class,
                DoctorCommand.class, SelfTestCommand.class, ProfileCommand.class, BenchCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class},
        description = {"Distilling Visual Priors: MoCo v2 pre-training with a margin, self-distillation, evaluation.", ""},
        footerHeading = "%n",
        footer = {"Options can also come from files: dvp <command> @options.txt (one or more options per line, # comments).",
                "Shell completion: source <(dvp completion)   (bash; zsh: autoload bashcompinit && bashcompinit first)"},
        usageHelpAutoWidth = true)
public final class Dvp implements Runnable {
    @Option(names = "--device", scope = ScopeType.INHERIT, paramLabel = "cpu|cuda|auto", defaultValue = "auto",
            description = "Where to compute: cpu, cuda, or auto (cuda when available, else cpu). A named device that is "
                    + "unavailable is an error (exit code 3), never a silent fallback. Default: ${DEFAULT-VALUE}.")
    DeviceOption device = DeviceOption.auto;

    @Option(names = "--seed", scope = ScopeType.INHERIT, paramLabel = "N", defaultValue = "0",
            description = "Seed of every random choice (weight init, data order, augmentation). Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--progress", scope = ScopeType.INHERIT, paramLabel = "auto|bar|plain|none", defaultValue = "auto",
            completionCandidates = ProgressModes.class, converter = ProgressModeConverter.class,
            description = "Progress display: a bar on a terminal, plain lines when redirected or when CI is set (auto), "
                    + "or forced. Default: ${DEFAULT-VALUE}.")
    ProgressMode progress = ProgressMode.AUTO;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Show stack traces of errors.")
    boolean debug;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public DeviceOption device() { return device; }

    public long seed() { return seed; }

    public ProgressMode progress() { return progress; }

    public boolean debug() { return debug; }

    @Override
    public void run() {
        // `dvp` alone: the overview
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The configured command tree (also used by tests, which run it in-process). */
    public static CommandLine commandLine() {
        Dvp root = new Dvp();
        CommandLine cmd = new CommandLine(root);
        // picocli's GenerateCompletion is a "help command", which accepts any argument; ours is strict
        // (an annotation attribute left at its default cannot override the superclass's, hence here)
        cmd.getSubcommands().get("completion").getCommandSpec().helpCommand(false);
        // commands that compute nothing: the device, seed and progress options would only clutter their help (and be ignored)
        for (CommandLine c : List.of(cmd.getSubcommands().get("completion"), cmd.getSubcommands().get("help"),
                cmd.getSubcommands().get("bench").getSubcommands().get("compare"), cmd.getSubcommands().get("bench").getSubcommands().get("report")))
            withoutGlobals(c, "--device", "--seed", "--progress");
        cmd.setExitCodeExceptionMapper(new ExitCodes());
        cmd.setParameterExceptionHandler(new ErrorReporting.ParameterErrors());
        cmd.setExecutionExceptionHandler(new ErrorReporting.ExecutionErrors(() -> root.debug));
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        applyToAll(cmd);
        return cmd;
    }

    /** Removes inherited global options from a command (still accepted before it: 'dvp --seed 1 help'). */
    private static void withoutGlobals(CommandLine cmd, String... names) {
        var spec = cmd.getCommandSpec();
        for (String n : names) {
            var o = spec.findOption(n);
            if (o != null && o.inherited()) spec.remove(o);
        }
    }

    private static void applyToAll(CommandLine cmd) {
        cmd.getCommandSpec().usageMessage()
                .exitCodeListHeading("%nExit codes:%n")
                .exitCodeList(ExitCodes.descriptions(kind(cmd)));
        if (cmd.getCommand() instanceof HelpAppendix h) {
            // lines known only at run time (a catalog's entries) after the annotation's description
            var usage = cmd.getCommandSpec().usageMessage();
            List<String> d = new java.util.ArrayList<>(List.of(usage.description()));
            d.addAll(h.descriptionAppendix());
            usage.description(d.toArray(String[]::new));
        }
        for (CommandLine sub : cmd.getSubcommands().values()) applyToAll(sub);
    }

    private static ExitCodes.Kind kind(CommandLine cmd) {
        Object c = cmd.getCommand();
        if (c instanceof Dvp) return ExitCodes.Kind.ALL;
        if (c instanceof ResumeArgs.Resumable) return ExitCodes.Kind.TRAINING;
        if (c instanceof EvaluateCommand || c instanceof PredictCommand) return ExitCodes.Kind.SCORING;
        return ExitCodes.Kind.OTHER;
    }

    /** Runs dvp with these arguments and returns the exit code (main without System.exit). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) { return execute(commandLine(), args, out, err); }

    static int execute(CommandLine cmd, String[] args, PrintWriter out, PrintWriter err) {
        cmd.setOut(out);
        cmd.setErr(err);
        Optional<String> missing = ArgFiles.firstMissing(args);
        if (missing.isPresent()) {
            err.println("dvp: argument file not found: " + missing.get() + " (an argument starting with @ names a file of options)");
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        String[] run;
        try {
            run = ResumeArgs.expand(args);
        } catch (dvp.training.run.BadInputException e) {
            err.println(e.getMessage());
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
        try {
            return cmd.execute(run);
        } catch (Error e) {
            // picocli hands only Exceptions to the execution handler; an Error (OutOfMemoryError above all)
            // would otherwise end the JVM with a stack trace and exit code 1
            int code = ExitCodes.of(e);
            err.println("dvp: " + ErrorReporting.message(e, code));
            if (((Dvp) cmd.getCommand()).debug) e.printStackTrace(err);
            err.flush();
            return code;
        }
    }

    public static void main(String[] args) {
        StopSignal.install();
        int code = execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(code);
    }

    /** Completion candidates in the case users type. */
    static final class ProgressModes implements Iterable<String> {
        @Override
        public Iterator<String> iterator() { return List.of("auto", "bar", "plain", "none").iterator(); }
    }

    static final class ProgressModeConverter implements CommandLine.ITypeConverter<ProgressMode> {
        @Override
        public ProgressMode convert(String value) {
            try {
                return ProgressMode.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("expected one of auto, bar, plain, none but was '" + value + "'");
            }
        }
    }
}
