package dvp.cli;

import dvp.engine.spi.Backends;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.Precision;
import dvp.training.observe.ProgressMode;
import dvp.training.session.SessionOptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResumeArgsTest {
    /** The shape of a training command. */
    @CommandLine.Command(name = "train")
    static final class Train implements Runnable {
        @CommandLine.Mixin SessionOptionsMixin run;
        @CommandLine.Option(names = "--lr", defaultValue = "0.03") double lr;
        @CommandLine.Option(names = "--image-size") Integer imageSize;
        @CommandLine.Option(names = "--blocks", split = ",") List<Integer> blocks;
        @CommandLine.Option(names = "--note") List<String> notes;
        @CommandLine.Option(names = "--small-stem") Boolean smallStem;
        @CommandLine.Option(names = "--nesterov", negatable = true) Boolean nesterov;
        @CommandLine.Option(names = "--data") Path data;
        @CommandLine.ParentCommand Dvp dvp;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        Map<String, Object> recorded;
        SessionOptions options;

        @Override
        public void run() {
            recorded = ResumeArgs.record(spec);
            options = run.toSessionOptions(dvp.progress(), spec);
        }
    }

    private static Train run(String... args) {
        Train t = new Train();
        CommandLine cmd = Dvp.commandLine();
        cmd.addSubcommand("train", new CommandLine(t));
        CliRun r = CliRun.of(cmd, args);
        assertEquals(0, r.code(), r.err());
        return t;
    }

    @Test
    void everyGivenOptionIsRecordedAsTokensIncludingGlobalOnesAndReadsBackTheSame() {
        Train t = run("--seed", "5", "train", "--data", "data/fmnist", "--lr", "0.1", "--no-tensorboard", "--progress", "plain",
                "--blocks", "1,2,1,1", "--note", "a", "--note", "b,c", "--no-nesterov", "--resume", "runs/a", "--debug");
        @SuppressWarnings("unchecked")
        Map<String, List<String>> o = (Map<String, List<String>>) t.recorded.get("options");
        assertEquals("dvp train", t.recorded.get("command"));
        assertEquals(List.of("--lr", "0.1"), o.get("--lr"));
        assertEquals(List.of("--seed", "5"), o.get("--seed"));
        assertNull(o.get("--device"), "defaults are not recorded: the resumed run gets the same ones");
        assertEquals(List.of("--progress", "plain"), o.get("--progress"));
        assertEquals(List.of("--no-tensorboard"), o.get("--tensorboard"));
        assertNull(o.get("--plots"));
        assertEquals(List.of("--blocks", "1,2,1,1"), o.get("--blocks"));
        assertEquals(List.of("--note", "a", "--note", "b,c"), o.get("--note"));
        assertEquals(List.of("--no-nesterov"), o.get("--nesterov"));
        assertEquals(List.of("--data", "data/fmnist"), o.get("--data"));
        assertNull(o.get("--image-size"), "an option left unset stays unset");
        assertNull(o.get("--small-stem"));
        for (String where : List.of("--resume", "--run-dir", "--runs-dir", "--name", "--debug")) assertNull(o.get(where), where);

        // typed back by the same parser: the values of the first run
        List<String> again = new ArrayList<>(List.of("train"));
        o.values().forEach(again::addAll);
        Train u = run(again.toArray(String[]::new));
        assertEquals(0.1, u.lr);
        assertEquals(List.of(1, 2, 1, 1), u.blocks);
        assertEquals(List.of("a", "b,c"), u.notes);
        assertEquals(false, u.nesterov);
        assertEquals(5L, u.dvp.seed());
        assertEquals(ProgressMode.PLAIN, u.dvp.progress());
        assertEquals(false, u.options.tensorboard());

        SessionOptions s = t.options;
        assertEquals(Path.of("runs"), s.runsRoot());
        assertEquals(Path.of("runs/a"), s.resume());
        assertNull(s.runDir());
        assertEquals(t.recorded, s.commandLine());
    }

    @Test
    void precisionAndDeterministicParseAreRecordedWhenGivenAndMayChangeOnResume() {
        Train t = run("train", "--precision", "TF32", "--deterministic");
        @SuppressWarnings("unchecked")
        Map<String, List<String>> o = (Map<String, List<String>>) t.recorded.get("options");
        assertEquals(List.of("--precision", "tf32"), o.get("--precision"), "recorded as typed, lower case");
        assertEquals(List.of("--deterministic"), o.get("--deterministic"));
        assertEquals(new ComputeSettings(Precision.TF32, true), t.run.compute.settings(Backends.cpu()));

        Train off = run("train", "--no-deterministic");
        @SuppressWarnings("unchecked")
        Map<String, List<String>> o2 = (Map<String, List<String>>) off.recorded.get("options");
        assertEquals(List.of("--no-deterministic"), o2.get("--deterministic"));
        assertNull(o2.get("--precision"), "not given: not recorded, the backend's default applies");

        // not given: whatever the backend does (the CPU: fp32, deterministic by construction)
        assertEquals(ComputeSettings.REFERENCE, run("train").run.compute.settings(Backends.cpu()));
        // changing them does not change what is trained, only rounding, as --device may change
        assertTrue(ResumeArgs.MAY_CHANGE.containsAll(List.of("--precision", "--deterministic", "--cuda-graph", "--channels-last")));

        CliRun bad = CliRun.of(Dvp.commandLine(), "pretrain", "--precision", "fp16");
        assertEquals(2, bad.code(), bad.err());
        assertTrue(bad.err().contains("--precision") && bad.err().contains("fp16") && bad.err().contains("FP32, TF32, BF16"), bad.err());
    }
}
