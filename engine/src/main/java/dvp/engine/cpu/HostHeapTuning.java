package dvp.engine.cpu;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Keeps freed tensor memory in the C heap instead of handing it back to the kernel. A training step
 * frees and re-allocates the same activation sizes (up to tens of MB) every step; glibc's defaults
 * serve those from fresh mmap'ed or re-grown pages, so every step page-faults and zero-fills them
 * again: 4.4% of a CPU ResNet-18 step was kernel time (page faults, clear_page) before this, 0.4%
 * after (perf, 2026-11-27). glibc's {@code mallopt}: blocks up to {@link #MMAP_THRESHOLD} come from
 * the heap, and the heap's free top is trimmed only beyond {@link #TRIM_THRESHOLD}, so resident
 * memory stays at the run's peak, as with PyTorch's caching allocators.
 *
 * <p>Applied once, before the first CPU storage; a C library without {@code mallopt} (not glibc) is
 * left as it is: this changes speed, never results. {@code -Ddvp.cpu.heapTuning=false} turns it off.
 */
final class HostHeapTuning {
    /** glibc's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD parameter numbers (malloc.h). */
    private static final int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
    /** glibc's upper limit for M_MMAP_THRESHOLD on 64-bit (32 MiB): larger blocks are always mmap'ed. */
    static final int MMAP_THRESHOLD = 32 << 20;
    static final int TRIM_THRESHOLD = 1 << 30;
    private static final boolean APPLIED = apply();

    private HostHeapTuning() {}

    /** Whether the heap was tuned (glibc found and both settings accepted). */
    static boolean applied() { return APPLIED; }

    private static boolean apply() {
        if (!Boolean.parseBoolean(System.getProperty("dvp.cpu.heapTuning", "true"))) return false;
        Linker linker = Linker.nativeLinker();
        Optional<MethodHandle> mallopt = linker.defaultLookup().find("mallopt")
                .map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)));
        if (mallopt.isEmpty()) return false;
        try {
            // mallopt returns 1 on success, 0 on error
            return (int) mallopt.get().invokeExact(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                    & (int) mallopt.get().invokeExact(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1;
        } catch (Throwable t) {
            throw new IllegalStateException("cpu: calling mallopt failed", t);
        }
    }
}
