package dvp.cli;

import dvp.training.observe.ProgressMode;
import dvp.training.run.Json;
import dvp.training.session.SessionOptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ResolvedConfigTest {
    /** The shape a trainer command will have. */
    @CommandLine.Command(name = "train")
    static final class Train implements Runnable {
        @CommandLine.Mixin SessionOptionsMixin run;
        @CommandLine.Option(names = "--lr", defaultValue = "0.03") double lr;
        @CommandLine.Parameters(paramLabel = "<data>") Path data;
        @CommandLine.ParentCommand Dvp dvp;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        Map<String, Object> config;
        SessionOptions options;

        @Override
        public void run() {
            config = ResolvedConfig.of(spec);
            options = run.toSessionOptions(dvp.progress());
        }
    }

    @Test
    void configHoldsEveryResolvedOptionIncludingGlobalOnes() {
        Train t = new Train();
        CommandLine cmd = Dvp.commandLine();
        cmd.addSubcommand("train", new CommandLine(t));
        CliRun r = CliRun.of(cmd, "--seed", "5", "train", "data/fmnist", "--lr", "0.1", "--no-tensorboard", "--progress", "plain",
                "--resume", "runs/a");
        assertEquals(0, r.code(), r.err());
        assertEquals("dvp train", t.config.get("command"));
        assertEquals(0.1, t.config.get("lr"));
        assertEquals(5L, t.config.get("seed"));
        assertEquals("auto", t.config.get("device"));
        assertEquals("plain", t.config.get("progress"));
        assertEquals(false, t.config.get("tensorboard"));
        assertEquals(Path.of("data/fmnist"), t.config.get("data"));
        assertEquals("data/fmnist", Json.tree(t.config).get("data").asText(), "paths become plain strings in config.json");

        SessionOptions o = t.options;
        assertEquals(Path.of("runs"), o.runsRoot());
        assertEquals(Path.of("runs/a"), o.resume());
        assertNull(o.runDir());
        assertEquals(ProgressMode.PLAIN, o.progress());
        assertEquals(false, o.tensorboard());
        assertEquals(true, o.plots());
    }
}
