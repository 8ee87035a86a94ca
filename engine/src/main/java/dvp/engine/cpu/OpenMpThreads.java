package dvp.engine.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The thread count of the OpenMP runtime that oneDNN runs on (GNU libgomp, which Debian's libdnnl2
 * links), so oneDNN's convolutions use {@link Parallel#threads()} like dvp's own kernels. OpenMP keeps
 * the count per calling thread, so it is set before every call (a cheap store), not once. Where no
 * libgomp is loaded (a oneDNN built on another runtime), this does nothing and oneDNN uses its default.
 */
final class OpenMpThreads {
    /** void omp_set_num_threads(int num_threads) */
    private final MethodHandle ompSetNumThreads;

    private OpenMpThreads(MethodHandle h) { this.ompSetNumThreads = h; }

    static OpenMpThreads find() {
        try {
            var sym = SymbolLookup.libraryLookup("libgomp.so.1", Arena.global()).find("omp_set_num_threads");
            return new OpenMpThreads(sym.map(s -> Linker.nativeLinker().downcallHandle(s, FunctionDescriptor.ofVoid(JAVA_INT))).orElse(null));
        } catch (IllegalArgumentException notLoadable) {
            return new OpenMpThreads(null);
        }
    }

    /**
     * Sets OMP_WAIT_POLICY=PASSIVE in the process environment unless it is already set; call it before
     * libgomp is loaded (it reads the variable once, when it loads). Why: by default libgomp's threads
     * spin for a while after each parallel region, and after every oneDNN convolution they then compete
     * for the cores with dvp's own kernels that run next (measured on the 2-core VM, ResNet-18 step at
     * 112 px, batch 32: batch norm after a convolution took twice as long, step 754 ms against 636).
     */
    static void preferPassiveWaiting() {
        try {
            Linker linker = Linker.nativeLinker();
            var setenv = linker.defaultLookup().find("setenv").orElse(null);
            if (setenv == null) return;
            MethodHandle h = linker.downcallHandle(setenv, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            try (Arena a = Arena.ofConfined()) {
                int rc = (int) h.invokeExact(a.allocateFrom("OMP_WAIT_POLICY"), a.allocateFrom("PASSIVE"), 0); // 0: keep a user's value
                if (rc != 0) throw new IllegalStateException("setenv(OMP_WAIT_POLICY) returned " + rc);
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv(OMP_WAIT_POLICY) failed", t);
        }
    }

    void set(int threads) {
        if (ompSetNumThreads == null) return;
        try {
            ompSetNumThreads.invokeExact(threads);
        } catch (Throwable t) {
            throw new IllegalStateException("omp_set_num_threads(" + threads + ") failed", t);
        }
    }
}
