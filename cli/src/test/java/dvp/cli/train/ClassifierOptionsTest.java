package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.training.loop.ScheduleSpec;
import dvp.training.run.BadInputException;
import dvp.training.supervised.ClassifierConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How the labelled phases' schedule options combine with each phase's recipe, and help texts picocli can format. */
class ClassifierOptionsTest {
    /** The command object picocli filled in for {@code dvp <args>} (parsed, not run). */
    private static ClassifierCommand parse(String... args) {
        CommandLine.ParseResult r = Dvp.commandLine().parseArgs(args);
        return (ClassifierCommand) r.subcommand().commandSpec().userObject();
    }

    private static ClassifierConfig finetune(String... options) {
        List<String> a = new ArrayList<>(List.of("finetune", "--data", "vipriors:/nowhere", "--arch", "resnet18"));
        a.addAll(List.of(options));
        return parse(a.toArray(String[]::new)).config();
    }

    @Test
    void noScheduleOptionKeepsTheRecipe() {
        assertEquals(new ScheduleSpec("steps", List.of(29, 59, 89), 0.1), finetune().effectiveSchedule());
    }

    @Test
    void scheduleStepsWithoutMilestonesIsTheRecipeNotAConstantLr() {
        // the help says the default is steps at 1-based 30/60/90 %; naming it must not drop the milestones
        assertEquals(new ScheduleSpec("steps", List.of(29, 59, 89), 0.1), finetune("--schedule", "steps").effectiveSchedule());
        assertEquals(new ScheduleSpec("steps", List.of(2, 5, 8), 0.1), finetune("--schedule", "steps", "--epochs", "10").effectiveSchedule());
    }

    @Test
    void gammaAloneChangesTheRecipesFactor() {
        assertEquals(new ScheduleSpec("steps", List.of(29, 59, 89), 0.5), finetune("--lr-gamma", "0.5").effectiveSchedule());
        assertEquals(new ScheduleSpec("steps", List.of(10), 0.5), finetune("--lr-milestones", "10", "--lr-gamma", "0.5").effectiveSchedule());
        assertEquals(new ScheduleSpec("cosine", List.of(), 0.1), finetune("--schedule", "cosine").effectiveSchedule());
    }

    @Test
    void milestonesOrGammaWithAScheduleWithoutStepsAreErrors() {
        BadInputException e = assertThrows(BadInputException.class, () -> finetune("--schedule", "cosine", "--lr-milestones", "10"));
        assertTrue(e.getMessage().contains("--lr-milestones applies to --schedule steps only"), e.getMessage());
        BadInputException g = assertThrows(BadInputException.class, () -> finetune("--schedule", "constant", "--lr-gamma", "0.5"));
        assertTrue(g.getMessage().contains("--lr-gamma applies to --schedule steps only"), g.getMessage());
    }

    @Test
    void linearEvalStepsWithoutMilestonesIsItsRecipe() throws Exception {
        java.nio.file.Path weights = java.nio.file.Files.createTempFile("backbone", ".safetensors");
        var spec = dvp.training.model.ModelSpec.of("resnet18").withWidth(0.125);
        try (var s = dvp.engine.Scope.open("backbone")) {
            dvp.training.model.ModelExports.save(weights, spec.build(10, new dvp.engine.Rng(0)), spec, dvp.training.model.ModelExports.Kind.BACKBONE,
                    List.of(), null);
        }
        try {
            ClassifierConfig c = parse("linear-eval", "--data", "vipriors:/nowhere", "--pretrained", weights.toString(), "--schedule", "steps").config();
            assertEquals(new ScheduleSpec("steps", List.of(60, 80), 0.1), c.effectiveSchedule());
        } finally {
            java.nio.file.Files.delete(weights);
        }
    }

    /**
     * picocli formats every help line with String.format: a bare '%' is not a literal percent sign
     * but a broken format, which picocli reports on stderr ("[picocli WARN] Could not format ...") on
     * every --help (its tracer writes to whatever System.err is at the time).
     */
    @Test
    void everyHelpPrintsWithoutPicocliWarnings() {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            printAllHelp(Dvp.commandLine());
        } finally {
            System.setErr(saved);
        }
        String warnings = err.toString(StandardCharsets.UTF_8);
        assertFalse(warnings.contains("picocli WARN"), warnings);
    }

    private static void printAllHelp(CommandLine cmd) {
        cmd.getUsageMessage();
        for (CommandLine sub : cmd.getSubcommands().values()) printAllHelp(sub);
    }
}
