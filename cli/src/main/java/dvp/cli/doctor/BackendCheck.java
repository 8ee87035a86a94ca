package dvp.cli.doctor;

import dvp.engine.spi.Availability;
import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendDiagnostics;
import dvp.engine.spi.Backends;

import java.util.ArrayList;
import java.util.List;

/** Every backend on the class path: available or not and why, plus the lines it contributes. */
final class BackendCheck implements DoctorCheck {
    @Override
    public int order() { return 20; }

    @Override
    public List<Finding> run() {
        List<Finding> f = new ArrayList<>();
        List<Backend> all;
        try {
            all = Backends.all();
        } catch (RuntimeException | LinkageError e) {
            return List.of(Finding.fail("backends", "discovery failed: " + e));
        }
        if (all.isEmpty()) f.add(Finding.fail("backends", "none on the class path (the jar is incomplete)"));
        for (Backend b : all) {
            String label = "backend " + b.name();
            Availability av;
            try {
                av = b.availability();
            } catch (RuntimeException | LinkageError e) {
                av = Availability.no("availability check failed: " + e);
            }
            // an unavailable CPU backend is broken; an unavailable GPU backend is just absent hardware/drivers
            f.add(av.available() ? Finding.ok(label, "available: " + av.reason())
                    : b.name().equals("cpu") ? Finding.fail(label, "unavailable: " + av.reason())
                    : Finding.info(label, "unavailable: " + av.reason()));
            if (b instanceof BackendDiagnostics d) {
                try {
                    for (BackendDiagnostics.Line l : d.diagnostics())
                        f.add(l.ok() ? Finding.info("  " + l.label(), l.value()) : Finding.warn("  " + l.label(), l.value()));
                } catch (RuntimeException | LinkageError e) {
                    f.add(Finding.warn("  " + b.name(), "diagnostics failed: " + e));
                }
            }
        }
        return f;
    }
}
