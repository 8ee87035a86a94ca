package dvp.engine.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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
        Result r = run(Map.of(), List.of(jvmOption), main);
        assertEquals(0, r.exit(), "child JVM with " + jvmOption + " failed:\n" + r.output());
        return r.output();
    }

    /** Exit status and the merged stdout/stderr of a child JVM. */
    public record Result(int exit, String output) {}

    /**
     * Runs main with extra JVM options and the environment changed by {@code env} (a null value
     * removes the variable: e.g. DVP_CUDA_SIM, which the test JVMs get from the build).
     */
    public static Result run(Map<String, String> env, List<String> jvmOptions, Class<?> main, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        env.forEach((k, v) -> {
            if (v == null) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }
}
