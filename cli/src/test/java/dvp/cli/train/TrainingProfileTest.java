package dvp.cli.train;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.data.decode.ImageWriters;
import dvp.training.perf.TraceCheck;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static dvp.cli.train.TrainingCommandsTest.args;
import static dvp.cli.train.TrainingCommandsTest.dvp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dvp pretrain --profile}: the profile of a window of real training steps lands in the run folder. */
class TrainingProfileTest {
    @Test
    void pretrainWritesTheProfileOfTheRequestedSteps(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("vip");
        Random r = new Random(2);
        for (String split : new String[]{"train", "val"})
            for (int c = 0; c < 3; c++) {
                Path f = Files.createDirectories(data.resolve(split).resolve(TrainingCommandsTest.WNIDS.get(c)));
                for (int i = 0; i < 8; i++) ImageWriters.writePng(TrainingCommandsTest.image(c, r), f.resolve("i" + i + ".png"));
            }
        var run = dvp(args("pretrain", "--data", "vipriors:" + data, TrainingCommandsTest.NET, TrainingCommandsTest.TINY, "--image-size", 16,
                "--epochs", 2, "--batch-size", 8, "--queue-size", 16, "--bn-splits", 2, "--dim", 8, "--run-dir", dir.resolve("pre"),
                "--profile", "--profile-steps", "1:2"));
        assertEquals(0, run.code(), run.err());
        Path p = dir.resolve("pre/profile");
        assertTrue(run.err().contains("profile of steps 1..2 written to " + p), run.err());
        String table = Files.readString(p.resolve("profile.txt"));
        assertTrue(table.startsWith("profiled training steps 1..2 on "), table);
        assertTrue(table.contains("conv2d_forward") && table.contains("total (primitives)"), table);
        TraceCheck.Report tr = TraceCheck.check(p.resolve("trace.json"), false);
        assertTrue(tr.ok(), tr.toString());
        assertEquals(4, tr.steps(), "2 steps on each track");
        JsonNode res = Json.readFile(p.resolve("profile.json"));
        assertEquals(2, res.get("scenarios").get(0).get("figures").get(0).get("samples").asInt());
        java.util.Set<String> ops = new java.util.HashSet<>();
        for (JsonNode o : res.get("scenarios").get(0).get("ops")) ops.add(o.get("op").asText());
        for (String op : new String[]{"conv2d_forward", "margin_infonce_forward", "enqueue_keys", "sgd_update_multi", "axpby_multi", "l2_normalize_forward"})
            assertTrue(ops.contains(op), op + " in " + ops);
    }
}
