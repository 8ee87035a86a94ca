package dvp.cli.doctor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's python3 with torch + torchvision, which the PyTorch parity tests use (they skip without
 * it). Deliberately /usr/bin/python3, not the first python3 on PATH.
 */
final class PythonTorchCheck implements DoctorCheck {
    static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final String INSTALL = "apt-get install python3-torch python3-torchvision";

    @Override
    public int order() { return 30; }

    /** Importing torch takes seconds; one answer per process is enough. */
    private static volatile List<Finding> cached;

    @Override
    public List<Finding> run() {
        List<Finding> c = cached;
        if (c == null) cached = c = check();
        return c;
    }

    private static List<Finding> check() {
        if (!Files.isExecutable(PYTHON))
            return List.of(Finding.warn("pytorch", PYTHON + " not found: PyTorch parity tests will be skipped (" + INSTALL + ")"));
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c",
                    "import sys, torch, torchvision; print(sys.version.split()[0], torch.__version__, torchvision.__version__)")
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return List.of(Finding.warn("pytorch", "importing torch in " + PYTHON + " took over 60 s"));
            }
            List<String> out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            String last = out.isEmpty() ? "" : out.getLast();
            if (p.exitValue() != 0)
                return List.of(Finding.warn("pytorch", PYTHON + " cannot import torch/torchvision (" + last
                        + "): PyTorch parity tests will be skipped (" + INSTALL + ")"));
            String[] v = last.split(" ");
            return List.of(Finding.ok("pytorch", PYTHON + ": Python " + v[0] + ", torch " + v[1] + ", torchvision " + v[2]
                    + " (PyTorch parity tests can run)"));
        } catch (IOException e) {
            return List.of(Finding.warn("pytorch", "cannot run " + PYTHON + ": " + e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of(Finding.warn("pytorch", "interrupted"));
        } catch (RuntimeException e) {
            return List.of(Finding.warn("pytorch", "unexpected output from " + PYTHON + ": " + e));
        }
    }
}
