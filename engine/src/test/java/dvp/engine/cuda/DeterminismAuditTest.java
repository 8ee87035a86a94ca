package dvp.engine.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@code --deterministic} relies on besides the cuDNN algorithm choice (docs/cuda.md,
 * "Determinism"): no kernel computes with atomics, whose order varies run to run (the one atomic is
 * the error word's compare-and-swap, which decides only which error is reported), and cuBLAS's atomics mode
 * (which lets some routines use them) is never bound, so it stays at its default, not allowed.
 * A kernel that needs atomics must come with a deterministic alternative for that mode, or refuse
 * it by name, and then this audit changes with it.
 */
class DeterminismAuditTest {
    private static final Path CUDA_SRC = Path.of("../kernels/src/main/cuda");
    /** A call of any CUDA atomic function (atomicAdd, atomicCAS, atomicAdd_block, ...). */
    private static final Pattern ATOMIC = Pattern.compile("\\batomic(Add|Sub|Exch|Min|Max|Inc|Dec|CAS|And|Or|Xor)\\w*\\s*\\(");

    static String withoutComments(String src) {
        return src.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    static List<String> atomicCalls(String name, String src) {
        List<String> out = new ArrayList<>();
        Matcher m = ATOMIC.matcher(withoutComments(src));
        while (m.find()) out.add(name + ": " + m.group());
        return out;
    }

    @Test
    void theAuditRecognisesAtomicsAndIgnoresComments() {
        assertEquals(1, atomicCalls("t.cu", "x = 1; atomicAdd(&sum, v);").size());
        assertEquals(1, atomicCalls("t.cu", "atomicCAS_block (p, a, b);").size());
        assertTrue(atomicCalls("t.cu", "// atomicAdd(&sum, v) would be faster\n/* atomicMax(p, v) */ y = 2;").isEmpty());
    }

    @Test
    void noKernelUsesAtomics() throws IOException {
        List<String> found = new ArrayList<>();
        int files = 0;
        try (Stream<Path> s = Files.list(CUDA_SRC)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".cu") || f.toString().endsWith(".cuh")).sorted().toList()) {
                files++;
                found.addAll(atomicCalls(p.getFileName().toString(), Files.readString(p)));
            }
        }
        assertTrue(files >= 5, "the kernel sources were not found under " + CUDA_SRC.toAbsolutePath());
        // dvp_report's integer compare-and-swap on the device error word: which failing thread wins
        // changes only the reported detail (e.g. which bad label), never a computed value
        assertTrue(found.remove("common.cuh: atomicCAS("), "dvp_report's error-word CAS moved: update this audit; found " + found);
        assertEquals(List.of(), found, "atomics make results vary run to run: --deterministic would have to refuse these ops");
    }

    @Test
    void cublasAtomicsModeIsNeverSet() throws IOException {
        String cublas = Files.readString(Path.of("src/main/java/dvp/engine/cuda/ffm/Cublas.java"));
        assertFalse(cublas.contains("cublasSetAtomicsMode"), "cuBLAS atomics mode is bound: --deterministic must then keep it off");
    }
}
