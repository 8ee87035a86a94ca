package dvp.cli.train;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --split-seed draws the fashion-mnist train/val split independently of --seed; without it the split follows --seed. */
class DataOptionsTest {
    @CommandLine.Command
    static final class Both {
        @CommandLine.Mixin DataOptions data;
        @CommandLine.Mixin SplitOptions splits;

        dvp.training.pipeline.DataSpec spec(long seed) { return data.spec(seed, splits); }
    }

    private static Both parse(String... args) { return CommandLine.populateCommand(new Both(), args); }

    @Test
    void splitFollowsTheRunSeedByDefault() {
        assertEquals(7, parse("--data", "fashion-mnist").spec(7).splitSeed());
    }

    @Test
    void splitSeedOverridesTheRunSeedForTheSplitOnly() {
        Both o = parse("--data", "fashion-mnist", "--split-seed", "0", "--train-per-class", "20");
        assertEquals(0, o.spec(7).splitSeed());
        assertEquals(0, o.spec(3).splitSeed());
        assertEquals(20, o.spec(7).trainPerClass());
    }

    @Test
    void splitSeedOfFolderDataIsAnError() {
        var e = assertThrows(dvp.training.run.BadInputException.class, () -> parse("--data", "folder:/tmp/x", "--split-seed", "1").spec(0));
        assertTrue(e.getMessage().contains("--split-seed applies to fashion-mnist data only"), e.getMessage());
    }
}
