package dvp.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.session.TrainingSession;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code --resume RUN_DIR} alone continues a run with the options it was started with. A training
 * command records the options it was given, with their values, as command-line tokens in
 * config.json ({@value #KEY}); resuming appends the recorded tokens of the options not given again to the
 * arguments, so picocli parses them as if typed. An option given again must have the recorded
 * value, except those in {@link #MAY_CHANGE} (they do not change what the run computes, or, like
 * {@code --epochs}, are how a run is extended): anything else would continue a run under settings
 * it was not trained with.
 */
public final class ResumeArgs {
    /** The key of config.json that holds the recorded options. */
    public static final String KEY = "command_line";

    /** Options that may differ from the recorded ones when resuming (listed in --resume's help). */
    public static final Set<String> MAY_CHANGE = Set.of("--epochs", "--workers", "--progress", "--device", "--precision", "--deterministic", "--debug", "--tensorboard", "--plots",
            "--eval-batch-size", "--profile", "--profile-steps", "--nvtx", "--cuda-graph", "--channels-last");

    /** Where the run lives, not what it computes: never recorded, never compared. */
    private static final Set<String> NOT_RECORDED = Set.of("--resume", "--run-dir", "--runs-dir", "--name", "--debug", "--help", "--version");

    /** A command whose runs record their options and can be resumed from them. */
    public interface Resumable {}

    private ResumeArgs() {}

    /**
     * The options given to the command being run (with their values as parsed, global ones
     * included), as tokens per option, for config.json. Options left at their defaults are not
     * recorded: the resumed run gets the same defaults, and a command that asks whether an option
     * was given sees the same answer.
     */
    public static Map<String, Object> record(CommandSpec spec) {
        ParseResult root = spec.root().commandLine().getParseResult();
        Map<String, List<String>> options = new LinkedHashMap<>();
        for (OptionSpec o : options(spec)) {
            if (root != null && !given(root, o.longestName())) continue;
            List<String> tokens = tokens(o, o.getValue());
            if (!tokens.isEmpty()) options.put(o.longestName(), tokens);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", spec.qualifiedName());
        m.put("options", options);
        return m;
    }

    /** The command's own options and the global ones (read from the root, where their values live). */
    private static List<OptionSpec> options(CommandSpec spec) {
        List<OptionSpec> l = new ArrayList<>();
        for (OptionSpec o : spec.root().options()) if (o.scopeType() == CommandLine.ScopeType.INHERIT && !skip(o)) l.add(o);
        for (OptionSpec o : spec.options()) if (!o.inherited() && !skip(o)) l.add(o);
        return l;
    }

    private static boolean skip(OptionSpec o) { return o.usageHelp() || o.versionHelp() || NOT_RECORDED.contains(o.longestName()); }

    /** What one would type to give o the value v (nothing for an unset option or a false flag without a --no- form). */
    static List<String> tokens(OptionSpec o, Object v) {
        String name = o.longestName();
        if (v == null) return List.of();
        if (o.arity().max() == 0 && v instanceof Boolean b) {
            if (b) return List.of(name);
            return o.negatable() ? List.of("--no-" + name.substring(2)) : List.of();
        }
        if (v instanceof java.util.Collection<?> c) {
            if (c.isEmpty()) return List.of();
            List<String> parts = c.stream().map(ResumeArgs::text).toList();
            if (!o.splitRegex().isEmpty()) return List.of(name, String.join(o.splitRegex().replace("\\", ""), parts));
            List<String> t = new ArrayList<>();
            for (String p : parts) { t.add(name); t.add(p); }
            return t;
        }
        return List.of(name, text(v));
    }

    private static String text(Object v) { return v instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : String.valueOf(v); }

    /**
     * The arguments to run: {@code args} themselves, or, for a resumable command with {@code --resume}
     * of a run that recorded its options, {@code args} plus the recorded options not given.
     *
     * @throws BadInputException when an option given differs from the recorded one and may not change,
     *                           or the run was started by another command
     */
    public static String[] expand(String[] args) {
        CommandLine probe = Dvp.commandLine();
        ParseResult root;
        try {
            root = probe.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            return args; // the real run reports it
        }
        ParseResult leaf = root;
        List<String> path = new ArrayList<>();
        while (leaf.subcommand() != null) {
            leaf = leaf.subcommand();
            path.add(leaf.commandSpec().name());
        }
        if (!(leaf.commandSpec().userObject() instanceof Resumable) || !leaf.hasMatchedOption("--resume")) return args;
        Path resume = leaf.matchedOptionValue("--resume", (Path) null);
        JsonNode recorded = recorded(resume);
        if (recorded == null) return args;
        String command = recorded.path("command").asText();
        String me = leaf.commandSpec().qualifiedName() + ": ";
        if (!command.equals(leaf.commandSpec().qualifiedName()))
            throw new BadInputException(me + "--resume " + resume + ": that run was started by '" + command + "', so continue it with '" + command
                    + " --resume " + resume + "'");
        Map<String, List<String>> byOption = new LinkedHashMap<>();
        recorded.path("options").properties().forEach(e -> {
            List<String> t = new ArrayList<>();
            e.getValue().forEach(n -> t.add(n.asText()));
            byOption.put(e.getKey(), t);
        });
        // the recorded values, typed by the same parser
        List<String> all = new ArrayList<>(path);
        byOption.values().forEach(all::addAll);
        CommandLine recordedCmd = Dvp.commandLine();
        try {
            recordedCmd.parseArgs(all.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new BadInputException(me + "the options recorded in " + runFolder(resume).resolve("config.json") + " do not parse with this dvp ("
                    + e.getMessage() + "); give the options again and leave --resume's folder out of it", e);
        }
        CommandSpec recordedSpec = leafSpec(recordedCmd, path);

        List<String> merged = new ArrayList<>(List.of(args));
        for (OptionSpec o : options(leaf.commandSpec())) {
            String name = o.longestName();
            if (!byOption.containsKey(name) && !given(root, name)) continue;
            if (!given(root, name)) {
                merged.addAll(byOption.get(name));
                continue;
            }
            if (MAY_CHANGE.contains(name)) continue;
            Object now = o.getValue(), then = option(recordedSpec, name).getValue();
            if (!same(now, then))
                throw new BadInputException(me + given(o, now) + ", but the run in " + runFolder(resume) + " was started "
                        + (then == null ? "without " + name : "with " + given(o, then)) + " (its config.json); a resumed run keeps its "
                        + "settings: leave " + name + " out, or start a new run (options that may change on resume: "
                        + String.join(", ", sorted(MAY_CHANGE)) + ")");
        }
        return merged.toArray(String[]::new);
    }

    private static boolean given(ParseResult root, String name) {
        for (ParseResult r = root; r != null; r = r.subcommand())
            for (OptionSpec o : r.matchedOptions()) if (o.longestName().equals(name)) return true;
        return false;
    }

    private static CommandSpec leafSpec(CommandLine cmd, List<String> path) {
        CommandLine c = cmd;
        for (String p : path) c = c.getSubcommands().get(p);
        return c.getCommandSpec();
    }

    private static OptionSpec option(CommandSpec spec, String name) {
        OptionSpec o = spec.findOption(name);
        if (o != null && o.inherited()) o = spec.root().findOption(name);
        return o;
    }

    private static boolean same(Object a, Object b) {
        if (a instanceof Path p && b instanceof Path q) return p.toAbsolutePath().normalize().equals(q.toAbsolutePath().normalize());
        return Objects.equals(a, b);
    }

    /** The option as it was typed for this value ("--lr 0.1", "--no-nesterov"). */
    private static String given(OptionSpec o, Object v) {
        List<String> t = tokens(o, v);
        return t.isEmpty() ? o.longestName() + " off" : String.join(" ", t);
    }

    private static List<String> sorted(Set<String> s) { return s.stream().sorted().toList(); }

    /** The recorded options of the run that --resume names, or null for a run from before they were recorded. */
    private static JsonNode recorded(Path resume) {
        Path folder = runFolder(resume);
        if (folder == null) return null;
        Path config = folder.resolve("config.json");
        if (!Files.isRegularFile(config)) return null;
        try {
            JsonNode n = Json.readFile(config).get(KEY);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            throw new BadInputException("--resume " + resume + ": " + e.getMessage(), e);
        }
    }

    private static Path runFolder(Path resume) {
        if (Files.isRegularFile(resume.resolve("config.json"))) return resume;
        try {
            return TrainingSession.runFolderOf(resume);
        } catch (IOException | RuntimeException e) {
            return null; // not a run: the command reports what is wrong with --resume
        }
    }
}
