package dvp.training.moco;

import dvp.engine.spi.Backends;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real phase under SIGKILL: phase-1 training processes on the tiny network are killed at random
 * moments (during steps, checkpoint writes, loader start-up), restarted with --resume each time,
 * and must end with exactly the state of an uninterrupted run — both encoders, BN statistics,
 * queue, pointer and momentum buffers, byte for byte.
 */
class PretrainKillResumeTest {
    @TempDir
    Path dir;

    /** Waits until checkpoints/last points somewhere new (true) or the process ends (false). */
    private static boolean waitForNewCheckpoint(Path run, Process p) throws Exception {
        Path last = run.resolve("checkpoints/last");
        Path before = Files.exists(last) ? last.toRealPath() : null;
        while (p.isAlive()) {
            if (Files.exists(last) && !last.toRealPath().equals(before)) return true;
            Thread.sleep(20);
        }
        return false;
    }

    private static List<String> steps(Path csv) throws java.io.IOException {
        return Files.readAllLines(csv).stream().skip(1).map(l -> l.substring(0, l.indexOf(','))).toList();
    }

    @Test
    void sigkillAtRandomPointsThenResumeIsBitIdentical() throws Exception {
        int epochs = 4;
        float[] expected;
        try (var s = dvp.training.session.TrainingSession.open("pretrain", PretrainerTest.options(dir.resolve("reference"), null),
                PretrainerTest.tinyConfig(epochs), Backends.cpu());
             Pretrainer p = new Pretrainer(PretrainerTest.tinyConfig(epochs), new ShapesDataset(64, 16, 1, 1), ShapesDataset.normalize(1),
                     Backends.cpu(), s)) {
            p.train();
            expected = PretrainProcess.fingerprint(p);
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        for (int trial = 0; trial < 2; trial++) {
            Path run = dir.resolve("killed-" + trial);
            int kills = 0, starts = 0, resumes = 0;
            while (!Files.exists(run.resolve("final.bin"))) {
                List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
                        "--sun-misc-unsafe-memory-access=allow", "-Xshare:auto",
                        "-cp", System.getProperty("java.class.path"), PretrainProcess.class.getName(), run.toString(), Integer.toString(epochs)));
                if (Files.exists(run.resolve("checkpoints/last"))) {
                    cmd.add("resume");
                    resumes++;
                }
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                starts++;
                assertTrue(starts < 30, "no progress after " + starts + " starts");
                if (kills < 2) {
                    // kill 1: anywhere (often during start-up); kill 2: a random moment after the process has
                    // written a new checkpoint, i.e. in the middle of later steps or of the next save
                    boolean alive = kills == 0 ? !p.waitFor(rnd.nextLong(500, 3000), TimeUnit.MILLISECONDS)
                            : waitForNewCheckpoint(run, p) && !p.waitFor(rnd.nextLong(0, 1500), TimeUnit.MILLISECONDS);
                    if (alive) {
                        p.destroyForcibly(); // SIGKILL
                        p.waitFor();
                        kills++;
                        continue;
                    }
                }
                assertTrue(p.waitFor(300, TimeUnit.SECONDS), "training process hung");
                assertEquals(0, p.exitValue(), "training process failed");
            }
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(run.resolve("final.bin"))).order(ByteOrder.LITTLE_ENDIAN);
            float[] got = new float[b.remaining() / 4];
            for (int i = 0; i < got.length; i++) got[i] = b.getFloat();
            assertTrue(kills >= 1, "at least one start must have been killed (trial " + trial + ")");
            assertTrue(resumes >= 1, "at least one start must have resumed from a checkpoint (trial " + trial + ")");
            assertArrayEquals(expected, got, "trial " + trial + " after " + kills + " kills and " + starts + " starts");
            for (String group : new String[]{"train", "epoch"})
                assertEquals(steps(dir.resolve("reference/metrics/" + group + ".csv")), steps(run.resolve("metrics/" + group + ".csv")),
                        group + ".csv of trial " + trial + ": the rows of an uninterrupted run, each once");
            try (var s = Files.list(run.resolve("checkpoints"))) {
                assertFalse(s.anyMatch(q -> q.getFileName().toString().startsWith(".tmp")), "no temporary folder left behind");
            }
        }
    }
}
