package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.training.data.decode.ImageWriters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a run writes into a log (standard error redirected to a file) is dvp's own lines: no
 * java.util.logging records (a two-line INFO about JPEG decoding appeared in runs that read no JPEG,
 * on machines without libturbojpeg) and no terminal control characters.
 */
class QuietLogTest {
    @TempDir
    Path dir;

    @Test
    void aRunRedirectedToAFileHasOnlyDvpsLinesAndNoEscapes() throws Exception {
        Path data = dir.resolve("vip");
        Random r = new Random(2);
        for (String split : List.of("train", "val"))
            for (int c = 0; c < 2; c++) {
                Path f = Files.createDirectories(data.resolve(split).resolve("n0144076" + c));
                for (int i = 0; i < 8; i++) ImageWriters.writePng(TrainingCommandsTest.image(c, r), f.resolve("i" + i + ".png"));
            }
        Path out = dir.resolve("out.log"), err = dir.resolve("err.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
                "--sun-misc-unsafe-memory-access=allow", "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
                Dvp.class.getName(), "finetune", "--data", "vipriors:" + data, "--device", "cpu", "--arch", "resnet18", "--small-stem",
                "--width", "0.125", "--blocks", "1,1,1,1", "--image-size", "16", "--eval-resize", "16", "--epochs", "1", "--batch-size", "8",
                "--workers", "1", "--no-tensorboard", "--run-dir", dir.resolve("run").toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("DVP_TURBOJPEG", dir.resolve("no-libturbojpeg.so.0").toString()); // as on a machine without libturbojpeg0
        pb.environment().remove("CI");
        Process p = pb.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        String o = Files.readString(out, StandardCharsets.UTF_8), e = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), e);
        for (String line : e.lines().toList()) {
            assertFalse(line.startsWith("INFO:") || line.startsWith("WARNING: skipping") || line.contains("dvp.training.data.decode"),
                    "a java.util.logging record: " + line + "\n" + e);
        }
        assertFalse((o + e).contains("\u001b"), "terminal escapes in a log:\n" + e);
        assertTrue(e.contains("[finetune] "), "plain progress lines when redirected: " + e);
    }
}
