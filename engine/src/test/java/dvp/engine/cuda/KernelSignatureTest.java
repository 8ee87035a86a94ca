package dvp.engine.cuda;

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
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java↔CUDA boundary checked without a GPU: for every kernel launched from dvp.engine.cuda,
 * the argument list built with {@link KernelArgs} must match the kernel's C parameter list in
 * kernels/src/main/cuda (count, order, and kind: 64-bit integer, 32-bit integer, float, double,
 * 16-bit, pointer, 64-bit struct). A mismatch would otherwise be silent garbage on the device.
 */
class KernelSignatureTest {
    private static final Path CUDA_SRC = Path.of("../kernels/src/main/cuda");
    private static final Path JAVA_SRC = Path.of("src/main/java/dvp/engine/cuda");

    /** kernel name -> kinds of its parameters, from the .cu sources. */
    static Map<String, List<String>> kernelSignatures() throws IOException {
        Map<String, List<String>> out = new HashMap<>();
        Pattern k = Pattern.compile("DVP_KERNEL\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);
        try (Stream<Path> files = Files.list(CUDA_SRC)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu")).toList()) {
                Matcher m = k.matcher(Files.readString(f));
                while (m.find()) {
                    List<String> kinds = new ArrayList<>();
                    for (String p : m.group(2).split(",")) kinds.add(kindOfC(p.trim()));
                    out.put(m.group(1), kinds);
                }
            }
        }
        return out;
    }

    static String kindOfC(String param) {
        String p = param.replaceAll("\\s+", " ");
        if (p.contains("*")) return "ptr";
        String type = p.substring(0, p.lastIndexOf(' ')).replace("const ", "").trim();
        return switch (type) {
            case "long long", "unsigned long long" -> "i64";
            case "int" -> "i32";
            case "float" -> "f32";
            case "double" -> "f64";
            case "unsigned short" -> "u16";
            case "DvpStrided" -> "struct64";
            default -> throw new AssertionError("unmapped C parameter type '" + type + "' in '" + param + "'");
        };
    }

    /** Every (kernel, Java argument kinds, file) launched from the Java sources. */
    static List<Object[]> javaLaunches() throws IOException {
        List<Object[]> out = new ArrayList<>();
        Pattern name = Pattern.compile("\"(dvp_\\w+)\"");
        try (Stream<Path> files = Files.list(JAVA_SRC)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String src = Files.readString(f);
                Matcher m = name.matcher(src);
                while (m.find()) {
                    int at = src.indexOf("new KernelArgs()", m.end());
                    int stmtEnd = src.indexOf(';', m.end());
                    if (at < 0 || (stmtEnd >= 0 && at > stmtEnd)) continue; // a kernel name used elsewhere (e.g. a switch)
                    out.add(new Object[]{m.group(1), argKinds(src, at + "new KernelArgs()".length()), f.getFileName().toString()});
                }
            }
        }
        return out;
    }

    /** The method names of the .x(...) chain starting at i, at parenthesis depth 0. */
    static List<String> argKinds(String s, int i) {
        List<String> kinds = new ArrayList<>();
        int depth = 0;
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') depth++;
            else if (c == ')') {
                if (depth == 0) break;
                depth--;
            } else if (c == ';' && depth == 0) break;
            else if (c == '.' && depth == 0) {
                int j = i + 1;
                while (j < s.length() && Character.isJavaIdentifierPart(s.charAt(j))) j++;
                kinds.add(s.substring(i + 1, j));
            }
        }
        return kinds;
    }

    @Test
    void everyLaunchMatchesItsKernelsParameters() throws IOException {
        Map<String, List<String>> kernels = kernelSignatures();
        assertTrue(kernels.size() > 30, "parsed only " + kernels.keySet());
        List<Object[]> launches = javaLaunches();
        assertTrue(launches.size() > 30, "found only " + launches.size() + " launches");
        List<String> problems = new ArrayList<>();
        for (Object[] l : launches) {
            String kernel = (String) l[0];
            @SuppressWarnings("unchecked") List<String> args = (List<String>) l[1];
            List<String> params = kernels.get(kernel);
            if (params == null) problems.add(l[2] + ": launches " + kernel + ", which no .cu file defines");
            else if (!params.equals(args)) problems.add(l[2] + ": " + kernel + " takes " + params + " but is given " + args);
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theParserSeesWhatItShould() throws IOException {
        assertEquals(List.of("i64", "ptr", "ptr", "ptr", "f32", "f32", "f32", "f32", "i32", "i32"),
                kernelSignatures().get("dvp_sgd_update_f32"));
        Object[] sgd = javaLaunches().stream().filter(l -> l[0].equals("dvp_sgd_update_f32")).findFirst().orElseThrow();
        assertEquals(kernelSignatures().get("dvp_sgd_update_f32"), sgd[1]);
        // the strided copies are launched through a variable: check their shared argument list by hand
        String copy = Files.readString(JAVA_SRC.resolve("CudaCopy.java"));
        List<String> args = argKinds(copy, copy.indexOf("new KernelArgs()", copy.indexOf("launch1d(kernel")) + "new KernelArgs()".length());
        for (String b : List.of("b1", "b2", "b4", "b8")) assertEquals(kernelSignatures().get("dvp_strided_copy_" + b), args, b);
    }

    @Test
    void everyKernelIsLaunchedSomewhere() throws IOException {
        Map<String, List<String>> kernels = kernelSignatures();
        List<String> launched = javaLaunches().stream().map(l -> (String) l[0]).toList();
        List<String> unused = kernels.keySet().stream().filter(k -> !launched.contains(k)).sorted().toList();
        // the strided copies are chosen by element size through a switch, then launched by variable
        List<String> viaSwitch = List.of("dvp_strided_copy_b1", "dvp_strided_copy_b2", "dvp_strided_copy_b4", "dvp_strided_copy_b8");
        assertFalse(unused.stream().anyMatch(k -> !viaSwitch.contains(k)), "kernels nobody launches: " + unused);
    }
}
