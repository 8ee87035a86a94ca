package dvp.engine.cpu;

import dvp.engine.Tensor;
import dvp.engine.cpu.ffm.OneDnn;
import dvp.engine.spi.ConvSpec;

import java.util.Locale;

/**
 * Which code runs the CPU backend's three convolution primitives, chosen once per JVM by the system
 * property {@code dvp.cpu.conv} or the environment variable {@code DVP_CPU_CONV}:
 * <ul>
 *   <li>{@code java}: dvp's own GEMM-based kernels ({@link CpuConv}), the reference: results are the
 *       same bits whatever the thread count;</li>
 *   <li>{@code onednn}: oneDNN's direct convolutions ({@link OneDnnConv}), what PyTorch's CPU
 *       convolutions run; a missing or unusable libdnnl.so.2 is an error naming what was searched;</li>
 *   <li>{@code auto} (default): oneDNN when libdnnl.so.2 loads, else java. The choice is in the CPU
 *       backend's availability line ({@code dvp doctor}) and in {@link #describe()}.</li>
 * </ul>
 */
public final class CpuConvChoice {
    /** The JVM's choice, made at first use; a requested oneDNN that cannot load is kept as the error. */
    private static volatile CpuConvChoice instance;
    private static volatile RuntimeException failure;
    /** Set by {@link #withJavaKernels}: this thread's convolutions run the java kernels whatever the choice. */
    private static final ThreadLocal<Boolean> JAVA_HERE = ThreadLocal.withInitial(() -> false);

    private final OneDnnConv onednn; // null: the java kernels
    private final String description;

    private CpuConvChoice(OneDnnConv onednn, String description) {
        this.onednn = onednn;
        this.description = description;
    }

    /** This JVM's choice; throws, every time, the error of a requested oneDNN that does not load. */
    static CpuConvChoice get() {
        CpuConvChoice c = instance;
        if (c != null) return c;
        synchronized (CpuConvChoice.class) {
            if (instance == null && failure == null) {
                String setting = setting();
                try {
                    instance = choose(setting);
                } catch (RuntimeException e) {
                    failure = new IllegalStateException("cpu convolutions: " + source(setting) + ": " + e.getMessage(), e);
                }
            }
            if (failure != null) throw failure;
            return instance;
        }
    }

    /** What this JVM's CPU convolutions run, e.g. "oneDNN 2.6.3 (libdnnl.so.2 (dynamic loader))". */
    public static String active() { return get().description; }

    /**
     * Runs body with this thread's convolutions on the java kernels. For tests of the java kernels'
     * promise that results do not depend on how work is split between threads ({@link Parallel#withSplit}
     * does not change oneDNN's threading, so such a test would prove nothing about oneDNN).
     */
    public static void withJavaKernels(Runnable body) {
        boolean before = JAVA_HERE.get();
        JAVA_HERE.set(true);
        try {
            body.run();
        } finally {
            JAVA_HERE.set(before);
        }
    }

    /** e.g. "oneDNN 2.6.3 (libdnnl.so.2 (dynamic loader))" or "java (dvp.cpu.conv=java)". */
    String describe() { return description; }

    private boolean useOneDnn() { return onednn != null && !JAVA_HERE.get(); }

    void forward(Tensor x, Tensor w, Tensor y, ConvSpec spec) {
        if (useOneDnn()) onednn.forward(x, w, y, spec);
        else CpuConv.forward(x, w, y, spec);
    }

    void backwardData(Tensor dy, Tensor w, Tensor dx, ConvSpec spec) {
        if (useOneDnn()) onednn.backwardData(dy, w, dx, spec);
        else CpuConv.backwardData(dy, w, dx, spec);
    }

    void backwardFilter(Tensor x, Tensor dy, Tensor dw, ConvSpec spec) {
        if (useOneDnn()) onednn.backwardFilter(x, dy, dw, spec);
        else CpuConv.backwardFilter(x, dy, dw, spec);
    }

    private static String source(String setting) {
        String p = System.getProperty("dvp.cpu.conv");
        return p != null && !p.isBlank() ? "-Ddvp.cpu.conv=" + p : "DVP_CPU_CONV=" + System.getenv("DVP_CPU_CONV");
    }

    private static String setting() {
        String v = System.getProperty("dvp.cpu.conv");
        if (v == null || v.isBlank()) v = System.getenv("DVP_CPU_CONV");
        return v == null || v.isBlank() ? "auto" : v.trim().toLowerCase(Locale.ROOT);
    }

    static CpuConvChoice choose(String setting) {
        return switch (setting) {
            case "java" -> new CpuConvChoice(null, "java (dvp.cpu.conv=java)");
            case "onednn" -> {
                try {
                    yield oneDnn();
                } catch (RuntimeException e) { // the user asked for it: an error, never the java kernels instead
                    throw new IllegalStateException("oneDNN was asked for and did not load: " + e.getMessage(), e);
                }
            }
            case "auto" -> {
                try {
                    yield oneDnn();
                } catch (RuntimeException e) { // missing, not 2.x, or failing to start: the java kernels, and the reason in the description
                    yield new CpuConvChoice(null, "java (oneDNN not used: " + e.getMessage() + ")");
                }
            }
            default -> throw new IllegalArgumentException("dvp.cpu.conv / DVP_CPU_CONV must be auto, onednn or java, not '" + setting + "'");
        };
    }

    private static CpuConvChoice oneDnn() {
        OpenMpThreads.preferPassiveWaiting();
        OneDnn dnn = OneDnn.load();
        OneDnnConv conv = new OneDnnConv(dnn);
        return new CpuConvChoice(conv, conv.describe());
    }
}
