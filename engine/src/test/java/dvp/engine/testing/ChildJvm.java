package dvp.engine.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs a main class of the test class path in a child JVM with the engine's module and access options
 * plus one extra JVM option, for settings fixed once per JVM (the CPU thread pool's size, the vector
 * width).
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** The child's stdout and stderr; fails the test when it exits with a non-zero status. */
    public static String output(String jvmOption, Class<?> main) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", jvmOption,
                "-cp", System.getProperty("java.class.path"), main.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "child JVM with " + jvmOption + " failed:\n" + out);
        return out;
    }
}
