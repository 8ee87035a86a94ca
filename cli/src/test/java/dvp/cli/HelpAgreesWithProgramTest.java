package dvp.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --help, the README and docs/ say what the program does (each check is something they once got wrong). */
class HelpAgreesWithProgramTest {
    /** The help as printed. */
    private static String rawHelp(String... command) {
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(command), java.util.stream.Stream.of("--help")).toArray(String[]::new);
        CliRun r = CliRun.of(args);
        assertEquals(0, r.code(), r.err());
        return r.out();
    }

    /** The help with its line breaks and indentation as single spaces, for phrases picocli wrapped. */
    private static String help(String... command) { return rawHelp(command).replaceAll("\\s+", " "); }

    private static Path repo(String file) { return Path.of("..", file); }

    @ParameterizedTest
    @ValueSource(strings = {"evaluate", "predict", "doctor", "bench", "profile", "completion", "selftest"})
    void commandsWithoutResumeDoNotListItsExitCode(String command) {
        String h = help(command);
        assertFalse(h.contains("--resume"), command + ": " + h);
        assertFalse(h.contains("5 interrupted"), command + " lists 'continue with --resume': " + h);
        assertTrue(h.contains("130 stopped by Ctrl-C/SIGTERM"), h);
    }

    @ParameterizedTest
    @ValueSource(strings = {"pretrain", "linear-eval", "finetune", "distill", "pipeline", "demo"})
    void trainingCommandsListInterruptAndResume(String command) {
        String h = help(command);
        assertTrue(h.contains("5 interrupted (Ctrl-C/SIGTERM) after writing a checkpoint; continue with --resume"), h);
        assertTrue(h.contains("130 stopped at once by a second Ctrl-C"), h);
        assertTrue(h.contains("except --epochs (to extend the run"), "the options that may change on resume are listed: " + h);
    }

    @ParameterizedTest
    @ValueSource(strings = {"pretrain", "linear-eval", "finetune", "distill"})
    void trainingCommandsDocumentTheCudaGraphSwitch(String command) {
        String h = help(command).replaceAll("\\s+", " ");
        assertTrue(h.contains("--[no-]cuda-graph"), h);
        assertTrue(h.contains("as one captured CUDA graph") && h.contains("No effect on the CPU") && h.contains("Default: on"), h);
        assertTrue(h.contains("--cuda-graph and --channels-last"), "it may change on resume: " + h);
    }

    @ParameterizedTest
    @ValueSource(strings = {"pretrain", "linear-eval", "finetune", "distill"})
    void trainingCommandsDocumentTheChannelsLastSwitch(String command) {
        String h = help(command).replaceAll("\\s+", " ");
        assertTrue(h.contains("--[no-]channels-last"), h);
        assertTrue(h.contains("Default: on for --device cuda, off on the CPU") && h.contains("The CPU accepts it with no effect on the results"), h);
        assertTrue(h.contains("--cuda-graph and --channels-last"), "it may change on resume: " + h);
    }

    @Test
    void scoringCommandsSayWhatExit6Means() {
        assertTrue(help("evaluate").contains("6 a model to score has NaN/Inf weights or logits"));
    }

    @Test
    void predictHasNoTrainingSplitOptions() {
        String h = help("predict");
        for (String o : List.of("--trainval", "--train-per-class", "--val-per-class", "--split-seed")) assertFalse(h.contains(o), o + ": " + h);
        assertTrue(help("evaluate").contains("--trainval"), "evaluate scores a split, so it keeps them");
    }

    @Test
    void onlyCommandsWithPretrainedMentionIt() {
        assertFalse(help("pipeline").contains("--pretrained"), "pipeline --arch mentioned --pretrained");
        assertFalse(help("pretrain").contains("--pretrained"));
        assertTrue(help("finetune").contains("(--arch, --in-channels, --small-stem, --width, --blocks) and --image-size come from them unless given"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"bench compare", "bench report", "completion", "help"})
    void toolsShowNoTrainingOptions(String command) {
        String h = help(command.split(" "));
        for (String o : List.of("--seed", "--progress", "--device")) assertFalse(h.contains(o), command + " shows " + o + ": " + h);
    }

    @ParameterizedTest
    @ValueSource(strings = {"bench", "profile"})
    void scenarioListsWrapUnderTheirDescriptions(String command) {
        String h = rawHelp(command);
        List<String> lines = h.lines().toList();
        int at = lines.indexOf("Scenarios:");
        assertTrue(at > 0, h);
        for (String l : lines.subList(at + 1, lines.size())) {
            if (l.isBlank() || l.trim().startsWith("-") || l.trim().startsWith("[")) break; // the parameters and options follow
            assertTrue(l.matches("  [a-z0-9-]+ +\\S.*") || l.matches(" {19}\\S.*"), "wrapped to column " + (l.length() - l.stripLeading().length())
                    + ": '" + l + "'");
        }
    }

    @Test
    void demoHelpShowsTheDefaultsAndTheTimeTheReadmeStates() throws Exception {
        String h = help("demo");
        assertFalse(h.contains("10-minute"), h);
        assertTrue(h.contains("Phase-1 epochs. Default: 80."), h);
        assertTrue(h.contains("Default: 0.25."), h);
        assertTrue(h.contains("a ResNet-10 layout; the results table says 'resnet18 (... blocks [1, 1, 1, 1])')"), h);
        Matcher m = Pattern.compile("About (\\d+) minutes").matcher(h);
        assertTrue(m.find(), h);
        String readme = Files.readString(repo("README.md"));
        assertTrue(readme.contains("end to end on Fashion-MNIST (about " + m.group(1) + " minutes on 2 CPU cores"),
                "README and --help state the same time (" + m.group(1) + " minutes)");
    }

    @Test
    void readmeAndDocsDescribeCheckpointsAndResumeAsTheyAre() throws Exception {
        String readme = Files.readString(repo("README.md")).replaceAll("\\s+", " ");
        assertFalse(readme.contains("checkpoints every epoch"), "only the newest and the best are kept");
        assertTrue(readme.contains("a checkpoint after every epoch of which the newest and, where the run validates, the best are kept"));
        String training = Files.readString(repo("docs/training.md")).replaceAll("\\s+", " ");
        assertFalse(training.contains("also with another thread count"), "not with oneDNN's convolutions");
        assertTrue(training.contains("With dvp's own convolution kernels (`DVP_CPU_CONV=java`) that also holds with another thread count"));
        Matcher codes = Pattern.compile("Exit codes: (.*?)\\.").matcher(readme);
        assertTrue(codes.find(), readme);
        for (String code : ExitCodes.descriptions(ExitCodes.Kind.ALL).keySet()) assertTrue(codes.group(1).contains(code + " "), "README exit code " + code);
    }
}
