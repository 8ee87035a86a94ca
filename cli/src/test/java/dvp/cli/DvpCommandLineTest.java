package dvp.cli;

import dvp.training.run.BadInputException;
import dvp.training.run.NonFiniteLossException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DvpCommandLineTest {
    @TempDir
    Path dir;

    private static void assertOneLineError(CliRun r, int code, String expectedStart) {
        assertEquals(code, r.code(), r.err());
        assertEquals(1, r.errLines().size(), "exactly one line on stderr: " + r.err());
        assertTrue(r.err().startsWith(expectedStart), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace");
    }

    @Test
    void versionNamesToolGitAndJdk() {
        CliRun r = CliRun.of("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().matches("(?s)dvp \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(git [0-9a-f]{10}.*|dvp .* \\(git unknown\\).*"), r.out());
        assertTrue(r.out().contains("JDK " + Runtime.version()), r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "doctor --help", "completion --help", "help doctor"})
    void everyHelpListsTheExitCodes(String args) {
        CliRun r = CliRun.of(args.split(" "));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Exit codes:"), r.out());
        assertTrue(r.out().contains("130   stopped"), r.out());
        if (args.equals("--help")) assertTrue(r.out().contains("6     NaN/Inf: the loss became NaN/Inf"), "the root lists every code: " + r.out());
        if (!args.startsWith("completion")) assertTrue(r.out().contains("--device"), "global options shown: " + r.out());
    }

    @Test
    void noArgumentsPrintsTheOverview() {
        CliRun r = CliRun.of();
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("Usage: dvp"), r.out());
        assertTrue(r.out().contains("doctor") && r.out().contains("completion"), r.out());
    }

    @Test
    void badCommandLinesGiveOneLineAndExitCode2() {
        assertOneLineError(CliRun.of("doctor", "--bogus"), 2, "dvp doctor: Unknown option: '--bogus' (see 'dvp doctor --help')");
        assertOneLineError(CliRun.of("--device", "gpu", "doctor"), 2, "dvp: Invalid value for option '--device': expected one of [cpu, cuda, auto]");
        assertOneLineError(CliRun.of("doctor", "--seed", "abc"), 2, "dvp doctor: Invalid value for option '--seed': 'abc' is not a long");
        assertOneLineError(CliRun.of("doctor", "--progress", "sometimes"), 2, "dvp doctor: Invalid value for option '--progress': expected one of auto, bar, plain, none");
        assertOneLineError(CliRun.of("frobnicate"), 2, "dvp: unknown command 'frobnicate' (commands: pretrain, linear-eval, finetune, distill, evaluate, predict, pipeline, demo, study, doctor, selftest, profile, bench, completion, help)");
        assertOneLineError(CliRun.of("doctor", "--devic=cpu"), 2, "dvp doctor: Unknown option: '--devic=cpu' (did you mean --device");
        assertOneLineError(CliRun.of("completion", "--bogus"), 2, "dvp completion: Unknown option: '--bogus'");
    }

    @Test
    void missingArgumentFileIsAClearError() {
        assertOneLineError(CliRun.of("doctor", "@" + dir.resolve("nope.txt")), 2, "dvp: argument file not found: " + dir.resolve("nope.txt"));
        assertOneLineError(CliRun.of("@" + dir), 2, "dvp: argument file not found: " + dir);
    }

    @Test
    void argumentFilesSupplyOptions() throws Exception {
        Path args = Files.writeString(dir.resolve("opts.txt"), "# global options for the check\n--device cpu\n--seed 42\n");
        CliRun r = CliRun.of("doctor", "@" + args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("verdict: ready: training runs on cpu\n") || r.out().contains("verdict: ready: training runs on cpu;"), r.out());
        assertFalse(r.out().contains("(--device auto)"), r.out());
    }

    @Test
    void completionScriptCoversTheCommands() {
        CliRun r = CliRun.of("completion");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("#!/usr/bin/env bash"), r.out());
        assertTrue(r.out().contains("complete -F _complete_dvp"), "bash registration");
        assertTrue(r.out().contains("doctor") && r.out().contains("--device"), "subcommands and options");
        assertTrue(r.out().contains("(\"cpu\" \"cuda\" \"auto\") # --device values"), "device values");
        assertTrue(r.out().contains("(\"auto\" \"bar\" \"plain\" \"none\")"), "progress values");
    }

    /** A command that fails the way trainers will, to check messages and exit codes end to end. */
    @CommandLine.Command(name = "boom")
    static final class Boom implements Runnable {
        @CommandLine.Option(names = "--kind") String kind;

        @Override
        public void run() {
            switch (kind) {
                case "nan" -> throw new NonFiniteLossException(17, "loss", Double.NaN, Optional.of(Path.of("runs/x/checkpoints/step-000000016")));
                case "input" -> throw new BadInputException("dataset folder data/train has no class folders");
                case "file" -> throw new java.io.UncheckedIOException(new java.nio.file.NoSuchFileException("data/val"));
                case "oom" -> throw new OutOfMemoryError("Java heap space");
                default -> throw new IllegalStateException("queue pointer out of range");
            }
        }
    }

    private static CommandLine withBoom() {
        CommandLine cmd = Dvp.commandLine();
        cmd.addSubcommand("boom", new Boom());
        return cmd;
    }

    @Test
    void failuresWhileRunningGiveOneLineAndTheirExitCode() {
        assertOneLineError(CliRun.of(withBoom(), "boom", "--kind", "nan"), 6,
                "dvp boom: loss is NaN at step 17; training stopped. Last good checkpoint: runs/x/checkpoints/step-000000016");
        assertOneLineError(CliRun.of(withBoom(), "boom", "--kind", "input"), 2, "dvp boom: dataset folder data/train has no class folders");
        assertOneLineError(CliRun.of(withBoom(), "boom", "--kind", "file"), 2, "dvp boom: no such file or directory: data/val");
        assertOneLineError(CliRun.of(withBoom(), "boom", "--kind", "oom"), 4, "dvp: out of memory: Java heap space");
        assertOneLineError(CliRun.of(withBoom(), "boom", "--kind", "bug"), 1,
                "dvp boom: error: IllegalStateException: queue pointer out of range (run with --debug for the stack trace)");
    }

    @Test
    void debugShowsTheStackTrace() {
        CliRun r = CliRun.of(withBoom(), "boom", "--kind", "bug", "--debug");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("\tat dvp.cli.DvpCommandLineTest$Boom.run"), r.err());
    }
}
