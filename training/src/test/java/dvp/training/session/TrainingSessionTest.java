package dvp.training.session;

import dvp.engine.spi.Backends;
import dvp.training.run.Json;
import dvp.training.run.NonFiniteLossException;
import dvp.training.run.RunInterruptedException;
import dvp.training.run.StopSignal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingSessionTest {
    @TempDir
    Path dir;

    @AfterEach
    void clearStop() { StopSignal.reset(); }

    private static float[] uninterrupted(Path runDir, long steps) throws Exception {
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(runDir, null), ToyTrainer.config(steps), Backends.cpu())) {
            return new ToyTrainer(7).run(s, steps, 0);
        }
    }

    @Test
    void runFolderHoldsConfigVersionsMetricsCheckpointsAndPlots() throws Exception {
        Path run = dir.resolve("run");
        uninterrupted(run, 24);
        var config = Json.readFile(run.resolve("config.json"));
        assertEquals("toy-linear", config.get("model").asText());
        assertEquals(24, config.get("steps").asLong());
        var versions = Json.readFile(run.resolve("versions.json"));
        assertEquals("cpu", versions.get("backend").asText());
        assertEquals(Runtime.version().toString(), versions.get("jdk").asText());
        assertEquals(25, Files.readAllLines(run.resolve("metrics/train.csv")).size());
        assertTrue(Files.exists(run.resolve("checkpoints/last/checkpoint.json")));
        assertTrue(Files.exists(run.resolve("checkpoints/best/tensors.safetensors")));
        try (var s = Files.list(run.resolve("tensorboard"))) {
            assertEquals(1, s.count());
        }
        assertTrue(Files.exists(run.resolve("plots/loss.png")) || !java.awt.GraphicsEnvironment.isHeadless());
    }

    @Test
    void aRunFolderWithCheckpointsIsNotReusedWithoutResume() throws Exception {
        Path run = dir.resolve("run");
        uninterrupted(run, 8);
        byte[] config = Files.readAllBytes(run.resolve("config.json"));
        var e = assertThrows(dvp.training.run.BadInputException.class,
                () -> TrainingSession.open("toy", ToyTrainer.options(run, null), ToyTrainer.config(16), Backends.cpu()));
        assertTrue(e.getMessage().contains("--resume " + run), e.getMessage());
        assertArrayEquals(config, Files.readAllBytes(run.resolve("config.json")), "the existing run's config.json is left as it was");
    }

    @Test
    void aCheckpointThatDoesNotFitIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path run = dir.resolve("fit");
        uninterrupted(run, 8);
        byte[] config = Files.readAllBytes(run.resolve("config.json")), csv = Files.readAllBytes(run.resolve("metrics/train.csv"));
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(null, run), Map.of("another", "config"), Backends.cpu())) {
            s.checkpoints().track("encoder_q", dvp.training.checkpoint.Stateful.tensors(Map::of));
            var e = assertThrows(dvp.training.checkpoint.CheckpointException.class, s::resume);
            assertTrue(e.getMessage().contains("has no state for [encoder_q]"), e.getMessage());
        }
        assertArrayEquals(config, Files.readAllBytes(run.resolve("config.json")), "config.json still describes the run it holds");
        assertArrayEquals(csv, Files.readAllBytes(run.resolve("metrics/train.csv")));
    }

    @Test
    void resumeInProcessIsBitIdentical() throws Exception {
        float[] expected = uninterrupted(dir.resolve("a"), 40);
        Path run = dir.resolve("b");
        // stop after step 13 (mid-epoch): the interrupt path writes a checkpoint there
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(run, null), ToyTrainer.config(40), Backends.cpu())) {
            ToyTrainer t = new ToyTrainer(7);
            assertEquals(0, t.run(s, 13, 0).length - ToyTrainer.D);
            StopSignal.request();
            RunInterruptedException e = assertThrows(RunInterruptedException.class, () -> s.stopIfRequested(t.step, 1));
            assertEquals(13, e.step());
            assertTrue(e.getMessage().contains("--resume"), e.getMessage());
        }
        StopSignal.reset();
        float[] resumed;
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(null, run).withRunDir(null), ToyTrainer.config(40), Backends.cpu())) {
            assertEquals(run.toRealPath(), s.run().path().toRealPath(), "resuming reopens the checkpoint's run folder");
            resumed = new ToyTrainer(7).run(s, 40, 0);
        }
        assertArrayEquals(expected, resumed);
        List<String> csv = Files.readAllLines(run.resolve("metrics/train.csv"));
        assertEquals(41, csv.size(), "each step logged once: " + csv);
    }

    /** The step column of a metrics CSV. */
    static List<Long> csvSteps(Path csv) throws java.io.IOException {
        return Files.readAllLines(csv).stream().skip(1).map(l -> Long.parseLong(l.substring(0, l.indexOf(',')))).toList();
    }

    static List<Long> range(long from, long to) { return java.util.stream.LongStream.rangeClosed(from, to).boxed().toList(); }

    @Test
    void metricRowsUpToACheckpointAreOnDiskAsSoonAsTheCheckpointIs() throws Exception {
        Path run = dir.resolve("durable");
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(run, null), ToyTrainer.config(12), Backends.cpu())) {
            new ToyTrainer(7).run(s, 12, 0); // checkpoint at step 8, then steps 9..12 (well within the 3 s periodic flush)
            // read while the session is open, as after a SIGKILL: what a resumed run finds
            List<Long> onDisk = csvSteps(run.resolve("metrics/train.csv"));
            assertEquals(range(1, 8), onDisk.subList(0, Math.min(8, onDisk.size())), "rows up to the checkpoint's step 8");
            long jsonl = Files.readAllLines(run.resolve("metrics/metrics.jsonl")).size();
            assertTrue(jsonl >= 8, "metrics.jsonl has the rows of steps 1..8: " + jsonl);
            Path tb;
            try (var files = Files.list(run.resolve("tensorboard"))) {
                tb = files.findFirst().orElseThrow();
            }
            long scalars = dvp.training.observe.TfEventsReader.read(tb).stream().filter(e -> !e.values().isEmpty()).count();
            assertTrue(scalars >= 8, "TensorBoard has the points of steps 1..8: " + scalars);
        }
    }

    @Test
    void nonFiniteLossNamesTheStepAndTheLastGoodCheckpoint() throws Exception {
        Path run = dir.resolve("nan");
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(run, null), ToyTrainer.config(8), Backends.cpu())) {
            new ToyTrainer(7).run(s, 8, 0);
            Path last = s.checkpoints().last().orElseThrow();
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> s.guard().check(9, "loss", Float.NaN));
            assertEquals(9, e.step());
            assertEquals(last, e.lastGoodCheckpoint().orElseThrow());
            assertTrue(e.getMessage().startsWith("loss is NaN at step 9;"), e.getMessage());
            assertTrue(e.getMessage().contains(last.toString()), e.getMessage());
            assertEquals(5.0f, s.guard().check(9, "loss", 5.0f));
            assertThrows(NonFiniteLossException.class, () -> s.guard().check(9, "loss", Double.NEGATIVE_INFINITY));
        }
    }

    /**
     * The real thing: a training process is killed with SIGKILL at random moments (during steps,
     * checkpoint writes, anything), restarted with --resume each time, and must end with exactly
     * the weights of an uninterrupted run.
     */
    @Test
    void sigkillAtRandomPointsThenResumeIsBitIdentical() throws Exception {
        long steps = 48;
        float[] expected = uninterrupted(dir.resolve("reference"), steps);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        for (int trial = 0; trial < 2; trial++) {
            Path run = dir.resolve("killed-" + trial);
            int kills = 0, starts = 0;
            while (!Files.exists(run.resolve("final.txt"))) {
                List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
                        "--sun-misc-unsafe-memory-access=allow", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                        "-cp", System.getProperty("java.class.path"), ToyTrainer.class.getName(), run.toString(), Long.toString(steps), "25"));
                if (Files.exists(run.resolve("checkpoints/last"))) cmd.add(run.toString());
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                starts++;
                assertTrue(starts < 30, "no progress after " + starts + " starts");
                if (kills < 3 && !p.waitFor(rnd.nextLong(400, 1100), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly(); // SIGKILL
                    p.waitFor();
                    kills++;
                    continue;
                }
                assertTrue(p.waitFor(120, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), "training process failed");
            }
            List<String> hex = Files.readAllLines(run.resolve("final.txt"));
            float[] got = new float[hex.size()];
            for (int i = 0; i < got.length; i++) got[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(hex.get(i), 16));
            assertTrue(kills >= 1, "the first start (>= 1.2 s of steps) is always killed");
            assertArrayEquals(expected, got, "trial " + trial + " after " + kills + " kills");
            // the metrics agree with an uninterrupted run: rows before each checkpoint were on disk with it, rows after it dropped
            assertEquals(range(1, steps), csvSteps(run.resolve("metrics/train.csv")), "trial " + trial + " after " + kills + " kills");
            assertEquals(steps, Files.readAllLines(run.resolve("metrics/metrics.jsonl")).size(), "one JSONL row per step");
            try (var s = Files.list(run.resolve("checkpoints"))) {
                assertFalse(s.anyMatch(q -> q.getFileName().toString().startsWith(".tmp")), "no temporary folder left behind");
            }
        }
    }

    @Test
    void messagesGoToTheGivenStream() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (TrainingSession s = TrainingSession.open("toy", ToyTrainer.options(dir.resolve("m"), null), Map.of(), Backends.cpu(),
                dvp.training.checkpoint.SafetensorsTensorFile.INSTANCE, new PrintStream(buf, true))) {
            s.resume();
        }
        assertTrue(buf.toString().startsWith("dvp: run folder "), buf.toString());
    }
}
