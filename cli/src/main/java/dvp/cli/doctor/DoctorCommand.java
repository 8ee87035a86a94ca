package dvp.cli.doctor;

import dvp.cli.DeviceOption;
import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.Backends;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;

/**
 * {@code dvp doctor}: what this machine offers dvp, one line per fact, and a one-line verdict for the
 * requested {@code --device}. Exit code 0 when that device can run, 3 when it cannot.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Checks the JDK, the machine, each compute backend (available or not, and why), Python + PyTorch "
                + "for the parity tests, libturbojpeg, NVTX and the datasets (Fashion-MNIST for the demo), then gives a verdict for --device.", ""})
public final class DoctorCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Finding> findings = new ArrayList<>();
        for (DoctorCheck c : checks()) {
            try {
                findings.addAll(c.run());
            } catch (RuntimeException | LinkageError e) {
                findings.add(Finding.warn(c.getClass().getSimpleName(), "check failed: " + e));
            }
        }
        int width = findings.stream().mapToInt(f -> f.label().length()).max().orElse(8);
        for (Finding f : findings) out.println(format(f, width));

        DeviceOption device = dvp.device();
        String verdict;
        int code;
        try {
            Backend b = Backends.get(device.name());
            List<String> warnings = findings.stream().filter(f -> f.status() == Finding.Status.WARN).map(f -> f.label().strip()).toList();
            List<String> failures = findings.stream().filter(f -> f.status() == Finding.Status.FAIL).map(f -> f.label().strip()).toList();
            if (!failures.isEmpty()) {
                verdict = "not ready: " + String.join(", ", failures) + " failed (see above)";
                code = ExitCodes.FAILURE;
            } else {
                verdict = "ready: training runs on " + b.name() + (device == DeviceOption.auto ? " (--device auto)" : "")
                        + (warnings.isEmpty() ? "" : "; optional: " + String.join(", ", warnings) + " (see above)");
                code = ExitCodes.OK;
            }
        } catch (BackendUnavailableException e) {
            verdict = "not ready for --device " + device + ": " + e.getMessage();
            code = ExitCodes.NO_BACKEND;
        }
        out.println("verdict: " + verdict);
        out.flush();
        return code;
    }

    static List<DoctorCheck> checks() {
        List<DoctorCheck> all = new ArrayList<>(List.of(new SystemCheck(), new BackendCheck(), new PythonTorchCheck(), new TurboJpegCheck()));
        ServiceLoader.load(DoctorCheck.class).forEach(all::add);
        all.sort(Comparator.comparingInt(DoctorCheck::order));
        return all;
    }

    static String format(Finding f, int width) {
        String mark = switch (f.status()) {
            case OK -> "ok  ";
            case INFO -> "    ";
            case WARN -> "WARN";
            case FAIL -> "FAIL";
        };
        return String.format("%-" + width + "s  %s  %s", f.label(), mark, f.text());
    }
}
