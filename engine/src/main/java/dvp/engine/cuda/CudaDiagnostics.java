package dvp.engine.cuda;

import dvp.engine.cuda.ffm.Cublas;
import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.cuda.ffm.Feature;
import dvp.engine.ffm.NativeLibrary;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@code dvp doctor} reports about CUDA, each fact found independently so that one missing
 * piece does not hide the others: JCuda, the driver, the device, the kernel image, cuBLAS, cuDNN,
 * and (when the backend runs) the allocator and TF32 setting. Never throws.
 */
public final class CudaDiagnostics {
    /** One fact; ok = false marks what stops the CUDA backend (or degrades it). */
    public record Line(String label, String value, boolean ok) {}

    private CudaDiagnostics() {}

    public static List<Line> lines() {
        List<Line> out = new ArrayList<>();
        out.add(new Line("JCuda", CudaContext.jcudaVersion() + " (driver API binding, org.jcuda:jcuda)", true));
        CudaDriver.Probe p;
        try {
            p = CudaDriver.probe();
        } catch (RuntimeException | LinkageError e) {
            p = new CudaDriver.Probe(false, "probe failed: " + e, 0, 0);
        }
        if (CudaSimulator.loaded()) {
            // DVP_CUDA_SIM=1: say it before anything else, and what it means
            out.add(new Line("SIMULATED", "not a GPU: the CUDA simulator (kernels/sim) runs dvp's CUDA code on the CPU; results are checked "
                    + "as a GPU's would be, timings measure nothing; " + CudaSimulator.describe(), true));
        }
        if (p.driverVersion() > 0)
            out.add(new Line("CUDA driver", CudaDriver.version(p.driverVersion()) + (CudaSimulator.loaded() ? " (the simulator's cuda.h)" : " (cuDriverGetVersion)"), true));
        if (!p.ok()) out.add(new Line("CUDA driver", p.reason(), false));

        KernelImage.Info img = KernelImage.info();
        out.add(new Line("kernel image", img.describe(), img.present()));

        CudaContext ctx = null;
        if (p.ok()) {
            try {
                ctx = CudaContext.get();
            } catch (RuntimeException | LinkageError e) {
                out.add(new Line("CUDA context", String.valueOf(e.getMessage()), false));
            }
        }
        if (ctx != null) {
            out.add(new Line("device " + ctx.ordinal, ctx.name + ", compute capability " + ctx.ccMajor + "." + ctx.ccMinor + ", "
                    + ctx.smCount + " SMs, " + CachingAllocator.fmt(ctx.totalMemory), ctx.ccMajor >= 8));
            out.add(new Line("kernel image toolkit", "CUDA " + CudaDriver.version(ctx.kernelsToolkitVersion) + " (read from the loaded image)",
                    ctx.kernelsToolkitVersion <= ctx.driverVersion));
            out.add(new Line("cuBLAS", safe(() -> ctx0().blas.libraryVersion()) + " from " + ctx.blas.loadedFrom(), true));
            out.add(new Line("cuDNN", safe(() -> ctx0().dnn.versionString()) + " from " + ctx.dnn.loadedFrom(), true));
            out.add(features("cuBLAS features", ctx.blas.features(), List.of("GEMM")));
            out.add(features("cuDNN features", ctx.dnn.features(), List.of("tensor descriptors", "convolution")));
            out.add(new Line("batch norm", switch (CudaBatchNorm.path(ctx, 1e-5f)) {
                case CUDNN -> "cuDNN (dvp's own kernels with -Ddvp.cuda.cudnnBatchNorm=false)";
                case OWN_KERNELS -> "dvp's own kernels (batchnorm.cu)" + (ctx.cudnnBatchNorm ? ": the loaded cuDNN has no batch norm" : ", as asked");
            }, true));
            CachingAllocator.Stats s = ctx.allocator.stats();
            out.add(new Line("allocator", CachingAllocator.fmt(s.allocated()) + " allocated, " + CachingAllocator.fmt(s.reserved())
                    + " reserved, peak " + CachingAllocator.fmt(s.peakAllocated()), true));
            out.add(new Line("TF32", ctx.tf32 ? "on for fp32 GEMM/conv (--precision tf32)" : "off (fp32 GEMM/conv in full fp32)", true));
            out.add(new Line("precision", ctx.tf32 ? "tf32" : "fp32", true));
            out.add(new Line("deterministic", ctx.deterministic ? "on (deterministic cuDNN algorithms only)"
                    : "off (cuDNN may pick run-to-run varying algorithms; --deterministic)", true));
            out.add(new Line("cudnn.benchmark", ctx.cudnnBenchmark ? "on (convolution algorithms autotuned per shape by cuDNN's Find)"
                    : "off (cuDNN's _v7 heuristics; -Ddvp.cuda.cudnnBenchmark=false)", true));
        } else {
            // no device: still say whether the libraries would be found, and which versions
            out.add(library("cuBLAS", () -> {
                NativeLibrary l = Cublas.locate();
                return Cublas.unbound(l).libraryVersion() + " from " + l.loadedFrom();
            }));
            out.add(library("cuDNN", () -> {
                NativeLibrary l = Cudnn.locate();
                return Cudnn.unbound(l).versionString() + " from " + l.loadedFrom();
            }));
        }
        return out;
    }

    /**
     * One line over a library's lazily bound features: each available one, or why not. Not ok when
     * an essential feature is missing (one without which the backend's ops fail); a missing
     * optional one only degrades (batch norm falls back to dvp's kernels, messages show numbers).
     */
    static Line features(String label, List<Feature<?>> features, List<String> essential) {
        StringBuilder sb = new StringBuilder();
        boolean ok = true;
        for (Feature<?> f : features) {
            if (!sb.isEmpty()) sb.append("; ");
            if (f.available()) sb.append(f.name()).append(" available");
            else {
                sb.append(f.status());
                if (essential.contains(f.name())) ok = false;
            }
        }
        return new Line(label, sb.toString(), ok);
    }

    /** Prints the lines (for scripts on machines where the dvp command is not wired up); exit 1 if any is bad. */
    public static void main(String[] args) {
        boolean ok = true;
        for (Line l : lines()) {
            System.out.println((l.ok() ? "ok   " : "BAD  ") + l.label() + ": " + l.value());
            ok &= l.ok();
        }
        System.out.println(ok ? "verdict: CUDA backend usable" : "verdict: CUDA backend NOT usable (see BAD lines)");
        System.exit(ok ? 0 : 1);
    }

    private static CudaContext ctx0() { return CudaContext.get(); }

    private interface Fact { String get(); }

    private static Line library(String label, Fact f) {
        try {
            return new Line(label, f.get(), true);
        } catch (RuntimeException | LinkageError e) {
            return new Line(label, String.valueOf(e.getMessage()), false);
        }
    }

    private static String safe(Fact f) {
        try {
            return f.get();
        } catch (RuntimeException | LinkageError e) {
            return "version unknown (" + e.getMessage() + ")";
        }
    }
}
