package dvp.engine.cuda.ffm;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hand-written FFM bindings checked without the libraries: each MethodHandle field's C
 * signature comment (copied from NVIDIA's documentation and oneDNN's headers) and the
 * FunctionDescriptor it is bound with must agree in return type, arity and the kind of every argument
 * (pointer/handle/array → ADDRESS, int/unsigned/enum → JAVA_INT, size_t/long long → JAVA_LONG, double,
 * float).
 */
class BindingSignatureTest {
    private static final List<Path> SOURCES = List.of(Path.of("src/main/java/dvp/engine/cuda/ffm/Cublas.java"),
            Path.of("src/main/java/dvp/engine/cuda/ffm/Cudnn.java"), Path.of("src/main/java/dvp/engine/cpu/ffm/OneDnn.java"));
    /** oneDNN's opaque handle typedefs (pointers) and its by-pointer array type. */
    private static final Pattern DNNL_POINTER = Pattern.compile("(const_)?dnnl_(engine|stream|primitive_desc|primitive|memory|op_desc|primitive_attr|dims)_t");

    static List<String> expectedFromC(String signature) {
        // "ret name(args)"
        int open = signature.indexOf('('), close = signature.lastIndexOf(')');
        String ret = signature.substring(0, open).trim();
        ret = ret.substring(0, ret.lastIndexOf(' ')).trim();
        List<String> kinds = new ArrayList<>();
        kinds.add(kind(ret + " r"));
        String args = signature.substring(open + 1, close).trim();
        if (!args.isEmpty() && !args.equals("void")) for (String a : args.split(",")) kinds.add(kind(a.trim()));
        return kinds;
    }

    static String kind(String param) {
        String p = param.replaceAll("\\s+", " ").replace("const ", "").trim();
        if (p.contains("*")) return "ADDRESS";
        String type = p.substring(0, p.lastIndexOf(' ')).trim();
        if (type.equals("size_t") || type.equals("long long int") || type.equals("long long")) return "JAVA_LONG";
        if (type.equals("double")) return "JAVA_DOUBLE";
        if (type.equals("float")) return "JAVA_FLOAT";
        if (type.equals("int") || type.equals("unsigned") || type.equals("libraryPropertyType")) return "JAVA_INT";
        if (DNNL_POINTER.matcher(type).matches()) return "ADDRESS";
        if (type.endsWith("Handle_t") || type.endsWith("Descriptor_t") || type.equals("cudaStream_t")) return "ADDRESS";
        if (type.endsWith("_t")) return "JAVA_INT"; // enums and status codes
        throw new AssertionError("unmapped C type '" + type + "' in '" + param + "'");
    }

    /** name -> descriptor kinds (return first), resolving local FunctionDescriptor variables. */
    static Map<String, List<String>> descriptors(String src) {
        Map<String, String> locals = new HashMap<>();
        Matcher v = Pattern.compile("FunctionDescriptor (\\w+) = (FunctionDescriptor\\.of\\([^;]*\\));", Pattern.DOTALL).matcher(src);
        while (v.find()) locals.put(v.group(1), v.group(2));
        Map<String, List<String>> out = new HashMap<>();
        Matcher f = Pattern.compile("lib\\.function\\(\"(\\w+)\",\\s*([^;]*)\\);", Pattern.DOTALL).matcher(src);
        while (f.find()) {
            String expr = f.group(2).trim();
            if (locals.containsKey(expr)) expr = locals.get(expr);
            List<String> kinds = new ArrayList<>();
            Matcher t = Pattern.compile("\\b(ADDRESS|JAVA_INT|JAVA_LONG|JAVA_DOUBLE|JAVA_FLOAT)\\b").matcher(expr);
            while (t.find()) kinds.add(t.group(1));
            if (expr.startsWith("FunctionDescriptor.ofVoid")) kinds.addFirst("void");
            out.put(f.group(1), kinds);
        }
        return out;
    }

    /** name -> C signature, from the javadoc comments of the MethodHandle fields. */
    static Map<String, String> signatures(String src) {
        Map<String, String> out = new HashMap<>();
        Matcher c = Pattern.compile("/\\*\\*((?:[^*]|\\*(?!/))*)\\*/\\s*private final MethodHandle (\\w+);", Pattern.DOTALL).matcher(src);
        while (c.find()) {
            String text = c.group(1).replaceAll("\\n\\s*\\*", " ").replaceAll("\\s+", " ").trim();
            int dash = text.indexOf(" — ");
            if (dash >= 0) text = text.substring(0, dash);
            out.put(c.group(2), text);
        }
        return out;
    }

    @Test
    void everyBindingMatchesItsDocumentedCSignature() throws IOException {
        int checked = 0;
        List<String> problems = new ArrayList<>();
        for (Path file : SOURCES) {
            String src = Files.readString(file);
            Map<String, List<String>> desc = descriptors(src);
            Map<String, String> sigs = signatures(src);
            assertEquals(sigs.keySet(), desc.keySet(), file + ": every MethodHandle needs a C signature comment and a binding");
            for (var e : sigs.entrySet()) {
                List<String> want = expectedFromC(e.getValue()), got = desc.get(e.getKey());
                if (!want.equals(got)) problems.add(file + " " + e.getKey() + ": C " + want + " vs FFM " + got);
                checked++;
            }
        }
        assertEquals(List.of(), problems);
        assertTrue(checked >= 48, "only " + checked + " bindings checked");
    }

    /**
     * The autotuner's Find calls are bound, with the prototypes of cuDNN 9's cudnn_cnn.h (checked
     * above like every binding; here: that they are there and take 13 arguments, handle first and
     * the workspace size last as size_t).
     */
    @Test
    void theFindCallsAreBoundWithCudnnsPrototypes() throws IOException {
        String src = Files.readString(SOURCES.get(1));
        Map<String, List<String>> desc = descriptors(src);
        Map<String, String> sigs = signatures(src);
        for (String name : List.of("cudnnFindConvolutionForwardAlgorithmEx", "cudnnFindConvolutionBackwardDataAlgorithmEx",
                "cudnnFindConvolutionBackwardFilterAlgorithmEx")) {
            assertTrue(sigs.containsKey(name) && desc.containsKey(name), name + " is not bound");
            List<String> kinds = expectedFromC(sigs.get(name));
            assertEquals(14, kinds.size(), name + ": status + 13 arguments, " + kinds);
            assertEquals(List.of("JAVA_INT", "ADDRESS"), kinds.subList(0, 2), name + ": returns a status, takes the handle first");
            assertEquals(List.of("JAVA_INT", "ADDRESS", "ADDRESS", "ADDRESS", "JAVA_LONG"), kinds.subList(9, 14),
                    name + ": requestedAlgoCount, returnedAlgoCount*, perfResults*, workSpace*, workSpaceSizeInBytes");
        }
    }

    /**
     * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t as cudnn_cnn.h declares them on LP64:
     * { int algo; status; float time; [4 bytes padding] size_t memory; determinism; mathType;
     * int reserved[3]; [4 bytes padding] } = 48 bytes (the simulated cuDNN static_asserts the same).
     */
    @Test
    void thePerfRecordLayoutMatchesTheHeader() {
        var l = Cudnn.ALGO_PERF;
        assertEquals(48, l.byteSize());
        assertEquals(8, l.byteAlignment(), "size_t memory aligns the struct to 8");
        String[] fields = {"algo", "status", "time", "memory", "determinism", "mathType", "reserved"};
        long[] offsets = {0, 4, 8, 16, 24, 28, 32};
        for (int i = 0; i < fields.length; i++)
            assertEquals(offsets[i], l.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement(fields[i])), fields[i]);
    }
}
