package dvp.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kernels/build-kernels.sh with a stand-in nvcc: ptxas's per-kernel resource lines (hundreds, on
 * every build, even with mvn -q) go to the log file, not the console; a failed compile still shows
 * nvcc's errors.
 */
class KernelBuildScriptTest {
    @TempDir
    Path dir;

    private Path fakeNvcc(boolean fail) throws Exception {
        Path nvcc = dir.resolve(fail ? "nvcc-fail" : "nvcc");
        Files.writeString(nvcc, """
                #!/usr/bin/env bash
                if [ "$1" = --version ]; then echo 'Cuda compilation tools, release 13.0, V13.0.88'; exit 0; fi
                for i in $(seq 1 40); do echo "ptxas info    : Used $i registers, used 0 barriers" >&2; echo '    0 bytes stack frame, 0 bytes spill stores' >&2; done
                %s
                while [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo fatbin > "$2"; fi; shift; done
                """.formatted(fail ? "echo 'dvp_kernels.cu(12): error: identifier \"x\" is undefined' >&2; exit 2" : ""));
        Files.setPosixFilePermissions(nvcc, PosixFilePermissions.fromString("rwxr-xr-x"));
        return nvcc;
    }

    private record Run(int code, String output) {}

    private Run build(Path nvcc, Path out, Path log) throws Exception {
        Path script = Path.of("..", "kernels", "build-kernels.sh").toAbsolutePath().normalize();
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), script.getParent().resolve("src/main/cuda").toString(), out.toString(),
                log.toString()).redirectErrorStream(true);
        pb.environment().put("NVCC", nvcc.toString());
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(p.exitValue(), output);
    }

    @Test
    void ptxasResourceLinesGoToTheLogAndErrorsToTheConsole() throws Exception {
        Path out = dir.resolve("out"), log = dir.resolve("target/nvcc-ptxas.log");
        Run ok = build(fakeNvcc(false), out, log);
        assertEquals(0, ok.code(), ok.output());
        assertFalse(ok.output().contains("ptxas info"), ok.output());
        assertTrue(ok.output().contains("[dvp-kernels] ptxas resource usage (40 lines) in " + log), ok.output());
        assertEquals(40, Files.readAllLines(log).stream().filter(l -> l.startsWith("ptxas info")).count());
        assertTrue(Files.exists(out.resolve("dvp_kernels.fatbin")));

        Run bad = build(fakeNvcc(true), dir.resolve("out2"), dir.resolve("target/bad.log"));
        assertEquals(1, bad.code(), bad.output());
        assertTrue(bad.output().contains("error: identifier \"x\" is undefined"), "the compiler's error is shown: " + bad.output());
        assertFalse(bad.output().contains("ptxas info"), bad.output());
    }
}
