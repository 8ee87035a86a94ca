package dvp.training.data.decode;

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

/**
 * The few TurboJPEG 2.x API functions we call, bound with {@code java.lang.foreign} (no JNI).
 * Found as {@code libturbojpeg.so.0} on the loader path (Debian/Ubuntu {@code libturbojpeg0}), or at
 * the path in system property {@code dvp.turbojpeg} / environment variable {@code DVP_TURBOJPEG}.
 * {@link #load()} returns null and {@link #unavailableReason()} says what was looked for when the
 * library is missing.
 */
final class TurboJpeg {
    // pixel formats, colour spaces, flags and error codes of turbojpeg.h
    static final int TJPF_RGB = 0, TJPF_GRAY = 6, TJPF_CMYK = 11;
    static final int TJCS_RGB = 0, TJCS_YCbCr = 1, TJCS_GRAY = 2, TJCS_CMYK = 3, TJCS_YCCK = 4;
    static final int TJSAMP_444 = 0, TJSAMP_420 = 2;
    static final int TJFLAG_ACCURATEDCT = 4096;
    static final int TJERR_WARNING = 0;

    private static final ValueLayout.OfLong ULONG = ValueLayout.JAVA_LONG;
    private static volatile TurboJpeg instance;
    private static volatile String unavailable;

    /** int (*)(void) → tjhandle tjInitDecompress(void) */
    final MethodHandle initDecompress;
    /** tjhandle tjInitCompress(void) */
    final MethodHandle initCompress;
    /** int tjDestroy(tjhandle) */
    final MethodHandle destroy;
    /** int tjDecompressHeader3(tjhandle, const unsigned char *jpegBuf, unsigned long jpegSize, int *width, int *height, int *jpegSubsamp, int *jpegColorspace) */
    final MethodHandle decompressHeader3;
    /** int tjDecompress2(tjhandle, const unsigned char *jpegBuf, unsigned long jpegSize, unsigned char *dstBuf, int width, int pitch, int height, int pixelFormat, int flags) */
    final MethodHandle decompress2;
    /** int tjCompress2(tjhandle, const unsigned char *srcBuf, int width, int pitch, int height, int pixelFormat, unsigned char **jpegBuf, unsigned long *jpegSize, int jpegSubsamp, int jpegQual, int flags) */
    final MethodHandle compress2;
    /** void tjFree(unsigned char *buffer) */
    final MethodHandle free;
    /** char *tjGetErrorStr2(tjhandle) */
    final MethodHandle errorStr2;
    /** int tjGetErrorCode(tjhandle) */
    final MethodHandle errorCode;
    /** tjscalingfactor *tjGetScalingFactors(int *numScalingFactors); tjscalingfactor = {int num; int denom;} */
    final int[][] scalingFactors;
    final String library;

    private TurboJpeg(SymbolLookup lib, String library) throws Throwable {
        Linker l = Linker.nativeLinker();
        var P = ValueLayout.ADDRESS;
        var I = ValueLayout.JAVA_INT;
        this.library = library;
        initDecompress = l.downcallHandle(find(lib, "tjInitDecompress"), FunctionDescriptor.of(P));
        initCompress = l.downcallHandle(find(lib, "tjInitCompress"), FunctionDescriptor.of(P));
        destroy = l.downcallHandle(find(lib, "tjDestroy"), FunctionDescriptor.of(I, P));
        decompressHeader3 = l.downcallHandle(find(lib, "tjDecompressHeader3"), FunctionDescriptor.of(I, P, P, ULONG, P, P, P, P));
        decompress2 = l.downcallHandle(find(lib, "tjDecompress2"), FunctionDescriptor.of(I, P, P, ULONG, P, I, I, I, I, I));
        compress2 = l.downcallHandle(find(lib, "tjCompress2"), FunctionDescriptor.of(I, P, P, I, I, I, I, P, P, I, I, I));
        free = l.downcallHandle(find(lib, "tjFree"), FunctionDescriptor.ofVoid(P));
        errorStr2 = l.downcallHandle(find(lib, "tjGetErrorStr2"), FunctionDescriptor.of(P, P));
        errorCode = l.downcallHandle(find(lib, "tjGetErrorCode"), FunctionDescriptor.of(I, P));
        MethodHandle gsf = l.downcallHandle(find(lib, "tjGetScalingFactors"), FunctionDescriptor.of(P, P));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(I);
            MemorySegment sf = (MemorySegment) gsf.invokeExact(n);
            int count = n.get(I, 0);
            sf = sf.reinterpret(8L * count);
            List<int[]> f = new ArrayList<>();
            for (int i = 0; i < count; i++) f.add(new int[]{sf.get(I, 8L * i), sf.get(I, 8L * i + 4)});
            scalingFactors = f.toArray(int[][]::new);
        }
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new UnsatisfiedLinkError("symbol " + name + " not found in libturbojpeg"));
    }

    /** The bound library, or null when it cannot be loaded (see {@link #unavailableReason()}). */
    static TurboJpeg load() {
        if (instance != null || unavailable != null) return instance;
        synchronized (TurboJpeg.class) {
            if (instance != null || unavailable != null) return instance;
            List<String> tried = new ArrayList<>();
            String override = System.getProperty("dvp.turbojpeg", System.getenv("DVP_TURBOJPEG"));
            List<String> candidates = override != null ? List.of(override)
                    : List.of("libturbojpeg.so.0", "/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0", "/usr/lib/aarch64-linux-gnu/libturbojpeg.so.0",
                    "/usr/lib64/libturbojpeg.so.0", "/usr/local/lib/libturbojpeg.so.0", "libturbojpeg.so");
            for (String c : candidates) {
                try {
                    SymbolLookup lib = c.startsWith("/") ? SymbolLookup.libraryLookup(Path.of(c), Arena.global()) : SymbolLookup.libraryLookup(c, Arena.global());
                    instance = new TurboJpeg(lib, c);
                    return instance;
                } catch (Throwable t) {
                    tried.add(c + " (" + t.getMessage() + ")");
                    if (c.startsWith("/") && !Files.exists(Path.of(c))) tried.set(tried.size() - 1, c + " (absent)");
                }
            }
            unavailable = "libturbojpeg not loadable; looked for " + String.join(", ", tried)
                    + ". Install libturbojpeg0 or set -Ddvp.turbojpeg=/path/to/libturbojpeg.so.0";
            return null;
        }
    }

    static String unavailableReason() {
        load();
        return unavailable;
    }

    String error(MemorySegment handle) {
        try {
            MemorySegment s = (MemorySegment) errorStr2.invokeExact(handle);
            return s.equals(MemorySegment.NULL) ? "unknown error" : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "unknown error (" + t + ")";
        }
    }
}
