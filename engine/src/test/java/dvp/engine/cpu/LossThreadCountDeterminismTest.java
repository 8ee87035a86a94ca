package dvp.engine.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fused losses give the same bits whatever the thread count (the Backend contract for
 * reductions): the thread pool is sized once per JVM, so each count runs in its own child JVM.
 */
class LossThreadCountDeterminismTest {
    private static String runWithThreads(int threads) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Ddvp.threads=" + threads,
                "-cp", System.getProperty("java.class.path"), LossBitsMain.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "child JVM with dvp.threads=" + threads + " failed:\n" + out);
        List<String> lines = out.lines().filter(l -> l.startsWith("ofd ")).toList();
        assertEquals(1, lines.size(), "unexpected child output:\n" + out);
        return lines.getFirst();
    }

    @Test void sameBitsWithOneThreeAndTheDefaultNumberOfThreads() throws Exception {
        String here = LossBitsMain.bits();
        assertEquals(here, runWithThreads(1), "1 thread vs " + Parallel.threads());
        assertEquals(here, runWithThreads(3), "3 threads vs " + Parallel.threads());
    }
}
