package dvp.engine.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The fat binary of dvp's own kernels (kernels/ module: sm_80 + sm_90 SASS and compute_90 PTX),
 * found as the class-path resource {@value #RESOURCE}, or at the file named by
 * {@code -Ddvp.cuda.kernels} / {@code DVP_CUDA_KERNELS}. Its companion properties file records the
 * CUDA toolkit that built it; {@link #info()} reads that without a GPU (for {@code dvp doctor}).
 */
public final class KernelImage {
    static final String RESOURCE = "/dvp/kernels/dvp_kernels.fatbin";
    static final String PROPERTIES = "/dvp/kernels/dvp_kernels.properties";

    private KernelImage() {}

    /** What is known about the image without loading it. */
    public record Info(boolean present, String where, String toolkit, String archs, String sourcesHash, int kernelCount) {
        public String describe() {
            if (!present) return "not built (" + where + ")";
            return where + ", built by CUDA " + toolkit + " for " + archs + ", " + kernelCount + " kernels";
        }
    }

    private static String override() {
        String p = System.getProperty("dvp.cuda.kernels");
        return p != null && !p.isBlank() ? p : System.getenv("DVP_CUDA_KERNELS");
    }

    public static Info info() {
        String ov = override();
        Properties props = new Properties();
        String where;
        boolean present;
        if (ov != null && !ov.isBlank()) {
            Path f = Path.of(ov);
            present = Files.isRegularFile(f);
            where = present ? f.toString() : "DVP_CUDA_KERNELS / -Ddvp.cuda.kernels = " + ov + " does not exist";
            Path pf = f.resolveSibling("dvp_kernels.properties");
            if (Files.isRegularFile(pf)) {
                try (InputStream in = Files.newInputStream(pf)) { props.load(in); } catch (IOException ignored) { /* unknown toolkit */ }
            }
        } else {
            present = KernelImage.class.getResource(RESOURCE) != null;
            where = present ? "class path " + RESOURCE.substring(1)
                    : "no resource " + RESOURCE.substring(1) + " on the class path: the dvp-kernels jar is missing or was built without nvcc";
            try (InputStream in = KernelImage.class.getResourceAsStream(PROPERTIES)) {
                if (in != null) props.load(in);
            } catch (IOException ignored) {
                // toolkit unknown
            }
        }
        String kernels = props.getProperty("kernels", "");
        return new Info(present, where, props.getProperty("toolkit", "unknown"), props.getProperty("archs", "unknown"),
                props.getProperty("sources.sha256", "unknown"), kernels.isEmpty() ? 0 : kernels.split(",").length);
    }

    /** The image's bytes; throws with the reason when it is not there. */
    static byte[] load() {
        Info info = info();
        if (!info.present) throw new IllegalStateException("CUDA kernel image " + info.describe());
        String ov = override();
        try {
            if (ov != null && !ov.isBlank()) return Files.readAllBytes(Path.of(ov));
            try (InputStream in = KernelImage.class.getResourceAsStream(RESOURCE)) {
                return in.readAllBytes();
            }
        } catch (IOException e) {
            throw new IllegalStateException("CUDA kernel image " + info.where + " could not be read: " + e.getMessage(), e);
        }
    }
}
