package dvp.engine.cpu;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HostHeapTuningTest {
    /** On glibc (Debian, the CI image) both mallopt settings must be accepted; elsewhere the tuning is skipped by design. */
    @Test void glibcAcceptsTheHeapSettings() {
        boolean glibc = Files.exists(Path.of("/lib/x86_64-linux-gnu/libc.so.6")) || Files.exists(Path.of("/lib/aarch64-linux-gnu/libc.so.6"));
        assumeTrue(glibc, "not a glibc system: mallopt tuning does not apply");
        assertTrue(HostHeapTuning.applied(), "glibc's mallopt rejected M_MMAP_THRESHOLD=" + HostHeapTuning.MMAP_THRESHOLD
                + " or M_TRIM_THRESHOLD=" + HostHeapTuning.TRIM_THRESHOLD);
    }
}
