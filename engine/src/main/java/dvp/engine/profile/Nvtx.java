package dvp.engine.profile;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * NVTX ranges through java.lang.foreign: {@code nvtxRangePushA} / {@code nvtxRangePop} from
 * libnvToolsExt (NVTX v2's library, which forwards to the tool that Nsight Systems injects), so
 * Nsight's timeline shows dvp's primitive names and steps above the CUDA kernels they launch.
 *
 * <p>Off unless asked for ({@code dvp profile --nvtx}, a training command's {@code --nvtx}); when
 * off nothing here is loaded. Looked for, in order: the file named by the environment variable
 * {@code DVP_NVTX_LIBRARY}; {@code libnvToolsExt.so.1} and {@code libnvToolsExt.so} on the
 * loader path; the same names under {@code $CUDA_HOME/lib64}, {@code /usr/local/cuda/lib64} and
 * {@code /usr/local/cuda/targets/x86_64-linux/lib}. (NVTX 3 is header-only and has no library to
 * bind; its pip package nvidia-nvtx-cu12 still ships libnvToolsExt.so.1.)
 *
 * <p>UNVERIFIED under Nsight: the binding is exercised on machines without an NVTX library only
 * (where {@link #status()} explains what was looked for), and against an injected tool never.
 */
public final class Nvtx {
    /** Whether NVTX can be used here, where it was found or what was looked for. */
    public record Status(boolean available, String detail) {}

    private static volatile Object loaded; // Nvtx or Status (the failure)

    private final MethodHandle push, pop;
    private final String path;
    private final Arena arena = Arena.ofShared();
    private final ConcurrentHashMap<String, MemorySegment> names = new ConcurrentHashMap<>();

    private Nvtx(SymbolLookup lib, String path) {
        Linker linker = Linker.nativeLinker();
        this.push = linker.downcallHandle(lib.find("nvtxRangePushA").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        this.pop = linker.downcallHandle(lib.find("nvtxRangePop").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        this.path = path;
    }

    /** The library's candidates, in the order they are tried. */
    public static List<String> candidates() {
        List<String> c = new ArrayList<>();
        String env = System.getenv("DVP_NVTX_LIBRARY");
        if (env != null && !env.isBlank()) c.add(env);
        c.add("libnvToolsExt.so.1");
        c.add("libnvToolsExt.so");
        List<String> dirs = new ArrayList<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null && !cudaHome.isBlank()) dirs.add(cudaHome + "/lib64");
        dirs.add("/usr/local/cuda/lib64");
        dirs.add("/usr/local/cuda/targets/x86_64-linux/lib");
        for (String d : dirs) {
            c.add(d + "/libnvToolsExt.so.1");
            c.add(d + "/libnvToolsExt.so");
        }
        return c;
    }

    /** Loads NVTX once per process; the status says from where, or what was looked for. */
    public static Status status() {
        Object l = load();
        return l instanceof Nvtx n ? new Status(true, n.path) : (Status) l;
    }

    /** The loaded binding, or null when no NVTX library is available. */
    static Nvtx get() {
        Object l = load();
        return l instanceof Nvtx n ? n : null;
    }

    private static Object load() {
        Object l = loaded;
        if (l != null) return l;
        synchronized (Nvtx.class) {
            if (loaded != null) return loaded;
            List<String> problems = new ArrayList<>();
            for (String name : candidates()) {
                boolean isPath = name.contains("/");
                if (isPath && !Files.exists(Path.of(name))) continue;
                try {
                    SymbolLookup lib = isPath ? SymbolLookup.libraryLookup(Path.of(name), Arena.global()) : SymbolLookup.libraryLookup(name, Arena.global());
                    if (lib.find("nvtxRangePushA").isEmpty() || lib.find("nvtxRangePop").isEmpty()) {
                        problems.add(name + " has no nvtxRangePushA/nvtxRangePop");
                        continue;
                    }
                    return loaded = new Nvtx(lib, name);
                } catch (IllegalArgumentException | IllegalCallerException e) {
                    if (isPath) problems.add(name + ": " + e.getMessage());
                }
            }
            return loaded = new Status(false, "no NVTX library found (looked for " + String.join(", ", candidates())
                    + (problems.isEmpty() ? "" : "; " + String.join("; ", problems))
                    + "); set DVP_NVTX_LIBRARY to libnvToolsExt.so.1 (CUDA toolkit or pip nvidia-nvtx-cu12)");
        }
    }

    /** Opens a range named {@code name} on this thread. */
    void push(String name) {
        MemorySegment s = names.computeIfAbsent(name, n -> names.size() < 4096 ? arena.allocateFrom(n) : null);
        try {
            if (s != null) {
                int ignored = (int) push.invokeExact(s);
            } else {
                try (Arena a = Arena.ofConfined()) {
                    int ignored = (int) push.invokeExact(a.allocateFrom(name));
                }
            }
        } catch (Throwable t) {
            throw new IllegalStateException("nvtxRangePushA failed", t);
        }
    }

    /** Closes this thread's innermost range. */
    void pop() {
        try {
            int ignored = (int) pop.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("nvtxRangePop failed", t);
        }
    }
}
