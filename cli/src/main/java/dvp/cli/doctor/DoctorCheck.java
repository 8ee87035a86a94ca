package dvp.cli.doctor;

import java.util.List;

/**
 * A section of {@code dvp doctor}. Built-in checks cover the JDK, the machine, every backend (a
 * backend adds its own lines by implementing {@link dvp.engine.spi.BackendDiagnostics}), Python +
 * PyTorch for the parity tests, and libturbojpeg. More can be added without touching the command:
 * implement this and list the class in {@code META-INF/services/dvp.cli.doctor.DoctorCheck}.
 * A check must not throw; a problem is a {@link Finding} with status WARN or FAIL.
 */
public interface DoctorCheck {
    /** Position among the checks (built-ins use 10..50; extensions default to after them). */
    default int order() { return 100; }

    List<Finding> run();
}
