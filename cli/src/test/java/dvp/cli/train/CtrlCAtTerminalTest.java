package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.training.data.decode.ImageWriters;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ctrl-C as a user types it: dvp runs in a real pseudo-terminal (a tmux pane), so progress is the
 * redrawn bar of --progress auto, and the key goes through the terminal's line discipline, which
 * sends SIGINT to the foreground process group. The run must stop as documented: the message, a
 * complete checkpoint at the step reached, its metric rows on disk, exit code 5. (The bar's
 * terminal library once replaced dvp's SIGINT handler: such a Ctrl-C ended the JVM at once with
 * 130 and no checkpoint, while a signal sent by a script to a run without a bar behaved.)
 */
class CtrlCAtTerminalTest {
    @TempDir
    Path dir;

    private static boolean tmuxInstalled() {
        try {
            return new ProcessBuilder("tmux", "-V").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private String tmux(String socket, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("tmux", "-L", socket));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "tmux " + String.join(" ", args));
        return out;
    }

    private static void await(String what, long seconds, BooleanSupplier done) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
            Thread.sleep(100);
        }
    }

    @Test
    void ctrlCAtTheProgressBarWritesACheckpointAndExits5() throws Exception {
        Assumptions.assumeTrue(tmuxInstalled(), "tmux is not installed (CI installs it: .ci/run)");
        Path data = dir.resolve("vip");
        Random r = new Random(1);
        for (int c = 0; c < 2; c++) {
            Path f = Files.createDirectories(data.resolve("train").resolve("n0144076" + c));
            for (int i = 0; i < 16; i++) ImageWriters.writePng(TrainingCommandsTest.image(c, r), f.resolve("i" + i + ".png"));
        }
        Path run = dir.resolve("run"), rc = dir.resolve("rc");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // CI must not turn the bar into plain lines (--progress auto); the trap keeps the shell alive to record the exit code
        String script = "unset CI\ntrap 'true' INT\n'" + javaBin + "' --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector "
                + "--sun-misc-unsafe-memory-access=allow -Djava.awt.headless=true -cp '" + System.getProperty("java.class.path") + "' "
                + Dvp.class.getName() + " pretrain --data vipriors:'" + data + "' --device cpu --arch resnet18 --small-stem --width 0.125 "
                + "--blocks 1,1,1,1 --image-size 16 --epochs 100000 --batch-size 8 --queue-size 16 --bn-splits 2 --dim 8 --workers 1 "
                + "--no-tensorboard --no-plots --run-dir '" + run + "'\necho $? > '" + rc + "'\nexec sleep 600\n";
        Path sh = dir.resolve("run.sh");
        Files.writeString(sh, script);
        String socket = "dvp-ctrlc-" + ProcessHandle.current().pid();
        try {
            tmux(socket, "new-session", "-d", "-s", "dvp", "-x", "220", "-y", "50", "bash " + sh);
            Path last = run.resolve("checkpoints/last");
            await("the first epoch's checkpoint", 120, () -> Files.exists(last));
            await("the progress bar", 30, () -> {
                try {
                    return tmux(socket, "capture-pane", "-p", "-t", "dvp").contains("│");
                } catch (Exception e) {
                    return false;
                }
            });
            tmux(socket, "send-keys", "-t", "dvp", "C-c");
            await("dvp to exit", 120, () -> Files.exists(rc));
            String pane = tmux(socket, "capture-pane", "-p", "-J", "-S", "-200", "-t", "dvp");
            assertEquals("5", Files.readString(rc).strip(), "exit code 5 (interrupted after a checkpoint), pane:\n" + pane);
            assertTrue(pane.contains("dvp: SIGINT received: stopping after this step and writing a checkpoint"), pane);
            var m = java.util.regex.Pattern.compile("interrupted at step (\\d+); checkpoint written to (\\S+)").matcher(pane);
            assertTrue(m.find(), pane);
            long step = Long.parseLong(m.group(1));
            Path ck = run.resolve("checkpoints").resolve(String.format("step-%09d", step));
            assertEquals(ck.toRealPath(), last.toRealPath(), "last is the interrupt's checkpoint");
            assertTrue(Files.exists(ck.resolve("checkpoint.json")) && Files.exists(ck.resolve("tensors.safetensors")), "complete checkpoint");
            List<String> train = Files.readAllLines(run.resolve("metrics/train.csv"));
            assertEquals(step, Long.parseLong(train.getLast().substring(0, train.getLast().indexOf(','))), "the rows up to the checkpoint: " + train);
            assertTrue(Files.readAllLines(run.resolve("metrics/epoch.csv")).size() >= 2, "the finished epochs' rows");
        } finally {
            tmux(socket, "kill-server");
        }
    }

    /**
     * Outside training there is no step boundary to stop at and nothing to checkpoint: evaluate
     * once said "stopping after this step and writing a checkpoint" and went on to the end.
     */
    @Test
    void ctrlCOutsideTrainingStopsAtOnceWith130() throws Exception {
        Path data = dir.resolve("vip");
        Random r = new Random(3);
        for (String split : List.of("train", "val"))
            for (int c = 0; c < 2; c++) {
                Path f = Files.createDirectories(data.resolve(split).resolve("n0144076" + c));
                for (int i = 0; i < (split.equals("val") ? 150 : 2); i++) ImageWriters.writePng(TrainingCommandsTest.image(c, r), f.resolve("i" + i + ".png"));
            }
        var spec = dvp.training.model.ModelSpec.of("resnet50");
        Path model = dir.resolve("big.safetensors");
        try (var s = dvp.engine.Scope.open("model")) {
            dvp.training.model.ModelExports.save(model, spec.build(2, new dvp.engine.Rng(0)), spec, dvp.training.model.ModelExports.Kind.CLASSIFIER,
                    List.of("n01440760", "n01440761"), null);
        }
        Path err = dir.resolve("err.log");
        // A test runner started in the background of a non-interactive shell (nohup ... &) ignores SIGINT, and
        // an ignored signal stays ignored in every child (the JVM then installs no handler for it): the child
        // gets SIGINT's default disposition back, as at a terminal, through coreutils' env where it can.
        List<String> command = new java.util.ArrayList<>();
        if (envResetsSignals()) command.addAll(List.of("env", "--default-signal=INT"));
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                Dvp.class.getName(), "evaluate", model.toString(), "--data", "vipriors:" + data, "--device", "cpu", "--ten-crop", "--batch-size", "20"));
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Thread.sleep(4000); // started and evaluating (300 images x 10 crops of a ResNet-50 at 224 px take far longer)
        assertTrue(p.isAlive(), "still evaluating: " + Files.readString(err));
        assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "stopped at once");
        String e = Files.readString(err);
        assertEquals(130, p.exitValue(), e);
        assertTrue(e.contains("dvp: SIGINT received: stopping now (nothing to checkpoint here)"), e);
        assertTrue(!e.contains("writing a checkpoint"), e);
    }

    /** Whether this machine's env can reset a signal's disposition (GNU coreutils 8.31 and later). */
    private static boolean envResetsSignals() {
        try {
            Process p = new ProcessBuilder("env", "--default-signal=INT", "true").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException | InterruptedException e) {
            return false;
        }
    }
}
