package dvp.cli.perf;

import dvp.cli.doctor.DoctorCheck;
import dvp.cli.doctor.Finding;
import dvp.engine.profile.Nvtx;

import java.util.List;

/**
 * {@code dvp doctor}: whether NVTX ranges (--nvtx) can be emitted. Absent NVTX is not a problem
 * (it only matters under Nsight), so it is reported as a fact, not a warning. UNVERIFIED on a GPU
 * machine with the library present.
 */
public final class NvtxCheck implements DoctorCheck {
    @Override
    public int order() { return 45; }

    @Override
    public List<Finding> run() {
        Nvtx.Status s;
        try {
            s = Nvtx.status();
        } catch (RuntimeException | LinkageError e) {
            return List.of(Finding.warn("nvtx", "check failed: " + e));
        }
        return List.of(s.available()
                ? Finding.ok("nvtx", s.detail() + " (dvp profile --nvtx / training --nvtx push ranges for Nsight Systems)")
                : Finding.info("nvtx", "not available: " + s.detail()));
    }
}
