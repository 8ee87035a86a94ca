package dvp.engine.cpu.ffm;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The enum values hard-coded in {@link OneDnn} against the names the installed library gives them
 * (oneDNN's own {@code dnnl_*2str} debug functions), so a wrong constant fails here rather than making
 * oneDNN compute something else. Skips with the reason where libdnnl.so.2 is not installed, unless
 * DVP_REQUIRE_ONEDNN=1 (CI).
 */
class OneDnnConstantsTest {
    private static SymbolLookup library() {
        try {
            OneDnn.load(); // the same search as production, so an override (DVP_ONEDNN) is honoured
            return SymbolLookup.libraryLookup("libdnnl.so.2", Arena.global());
        } catch (RuntimeException e) {
            if ("1".equals(System.getenv("DVP_REQUIRE_ONEDNN"))) fail("DVP_REQUIRE_ONEDNN=1 but " + e.getMessage());
            assumeTrue(false, "oneDNN not available: " + e.getMessage());
            throw e;
        }
    }

    private static String name(SymbolLookup lib, String fn, int value) throws Throwable {
        Optional<MemorySegment> sym = lib.find(fn);
        if (sym.isEmpty()) fail("libdnnl.so.2 has no " + fn);
        MethodHandle h = Linker.nativeLinker().downcallHandle(sym.get(), FunctionDescriptor.of(ADDRESS, JAVA_INT));
        return ((MemorySegment) h.invokeExact(value)).reinterpret(256).getString(0);
    }

    @Test void everyEnumValueNamesWhatOneDnnCallsIt() throws Throwable {
        SymbolLookup lib = library();
        assertEquals("f32", name(lib, "dnnl_dt2str", OneDnn.F32));
        assertEquals("any", name(lib, "dnnl_fmt_tag2str", OneDnn.TAG_ANY));
        assertEquals("abcd", name(lib, "dnnl_fmt_tag2str", OneDnn.TAG_NCHW)); // nchw and oihw are aliases of abcd
        assertEquals("abcd", name(lib, "dnnl_fmt_tag2str", OneDnn.TAG_OIHW));
        assertEquals("abcde", name(lib, "dnnl_fmt_tag2str", OneDnn.TAG_GOIHW));
        assertEquals("forward_training", name(lib, "dnnl_prop_kind2str", OneDnn.FORWARD_TRAINING));
        assertEquals("backward_data", name(lib, "dnnl_prop_kind2str", OneDnn.BACKWARD_DATA));
        assertEquals("backward_weights", name(lib, "dnnl_prop_kind2str", OneDnn.BACKWARD_WEIGHTS));
        assertEquals("convolution_direct", name(lib, "dnnl_alg_kind2str", OneDnn.CONVOLUTION_DIRECT));
        assertEquals("fpmath_mode_strict", name(lib, "dnnl_fpmath_mode2str", 0)); // OneDnn.FPMATH_MODE_STRICT
    }
}
