package dvp.training.perf;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A piece of work to time and profile: a training step (ResNet, MoCo, distillation) or a set of
 * single-op workloads (conv shapes, GEMM sizes, the fused losses). Built on one backend — build
 * it on a {@link ProfilingBackend} to profile it — in its own {@link Scope} (see {@link Scenarios#create}),
 * which closing frees.
 * A scenario is created and used on one thread.
 */
public abstract class Scenario implements AutoCloseable {
    /**
     * One timed unit: {@code run} does it once (a whole training step, or one op call); {@code
     * items} is how many images it processes (0: none, no throughput figure).
     */
    public record Workload(String name, long items, Runnable run) {}

    protected final Backend backend;
    protected final Map<String, Object> settings = new LinkedHashMap<>();
    private Scope scope;
    private dvp.training.loop.GraphedStep graphed;

    protected Scenario(Backend backend) { this.backend = backend; }

    /**
     * Builds a scenario inside a new scope that then belongs to it (closed with it); if building
     * fails, the scope is closed before the error propagates.
     */
    static Scenario build(String name, java.util.function.Supplier<Scenario> factory) {
        Scope s = Scope.open("scenario " + name);
        try {
            Scenario sc = factory.get();
            sc.scope = s;
            return sc;
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    /** The catalog name ("resnet50-train"). */
    public abstract String name();

    /** Everything that determines the work, resolved (batch, resolution, architecture, ...). */
    public Map<String, Object> settings() { return java.util.Collections.unmodifiableMap(settings); }

    /**
     * The dtype a scenario that calls GEMM/convolution primitives directly gives them: BF16 when the
     * backend runs {@code --precision bf16} (what autocast hands those primitives), else F32.
     */
    protected DType productDType() {
        return backend.computeSettings().precision() == dvp.engine.spi.Precision.BF16 ? DType.BF16 : DType.F32;
    }

    /** f32 itself, or a copy cast to {@code dtype} (Backend.cast). */
    protected Tensor as(DType dtype, Tensor f32) {
        if (dtype == f32.dtype()) return f32;
        Tensor t = Tensor.empty(backend, dtype, f32.shape());
        backend.cast(f32, t);
        return t;
    }

    public abstract List<Workload> workloads();

    /** Runs every workload once: the "step" that dvp profile profiles. */
    public void step() {
        for (Workload w : workloads()) w.run().run();
    }

    /**
     * Values that profiling must not change (losses, parameters, running statistics after the
     * steps run so far), read to the host. Used by the bit-identity tests.
     */
    public abstract Map<String, float[]> fingerprint();

    protected boolean onGpu() { return !backend.name().equals("cpu"); }

    /** Runs {@code body} with this scenario's backend as the thread's default (modules allocate on it). */
    protected final <T> T building(java.util.function.Supplier<T> body) {
        try (var u = Backends.use(backend)) {
            return body.get();
        }
    }

    /** A named range on the profiler's trace (and NVTX) when one is attached, else nothing. */
    protected final Profiler.Range range(String name) {
        if (backend instanceof ProfilingBackend pb) {
            Profiler p = pb.profiler();
            if (p != null) return p.range(name);
        }
        return () -> {};
    }

    /**
     * The end of every training step: backward from {@code loss}, the SGD update, zeroing the
     * gradients, and the loss copied into {@code lossOut} (a [1] tensor; no host synchronisation).
     */
    protected final void backwardAndUpdate(Tensor loss, dvp.nn.optim.Sgd sgd, Tensor lossOut) {
        try (var r = range("backward")) {
            loss.backward();
        }
        try (var r = range("optimizer")) {
            sgd.step();
            sgd.zeroGrad();
        }
        lossOut.copyFrom(loss.view(1));
    }

    /**
     * The runner of a training scenario's step: a CUDA graph captured after two op-by-op runs and
     * replayed per run when {@code o.cudaGraph()} (as the trainers do), else the step itself. With
     * CUDA graphs asked for, the settings record {@code mode}: what ran. Closed with the scenario.
     */
    protected final dvp.training.loop.GraphedStep graphedStep(ScenarioOptions o, dvp.nn.optim.Sgd sgd, Map<String, ? extends dvp.nn.Module> modules) {
        graphed = new dvp.training.loop.GraphedStep(backend, o.cudaGraph(), sgd, modules);
        if (o.cudaGraph())
            settings.put("mode", graphed.isGraphed() ? "cuda-graph (captured after " + dvp.training.loop.GraphedStep.WARMUP_STEPS
                    + " op-by-op steps, replayed per step, inputs copied in first)" : "op by op (--cuda-graph needs the CUDA backend)");
        return graphed;
    }

    /**
     * Runs the training scenario's networks channels-last when {@code o.channelsLast()} (as the
     * trainers' --channels-last: only the input is converted, every op keeps its input's layout) and
     * records {@code memory_format} under gpu_baselines.py's names, so dvp bench report lines the
     * series up with PyTorch's channels-last and NCHW ones.
     */
    protected final void memoryFormat(ScenarioOptions o, dvp.nn.models.ResNet... nets) {
        for (dvp.nn.models.ResNet n : nets) n.channelsLast(o.channelsLast());
        settings.put("memory_format", o.channelsLast() ? "channels_last" : "contiguous (NCHW)");
    }

    /** Records the settings every image scenario has: backbone, batch, resolution, width multiplier. */
    protected final void imageSettings(String arch, int batch, int res, double width) {
        settings.put("arch", arch);
        settings.put("batch", batch);
        settings.put("resolution", res);
        settings.put("width_multiplier", width);
    }

    /** A synthetic image batch [batch, 3, res, res] ~ N(0, 1). */
    protected final Tensor images(dvp.engine.Rng rng, int batch, int res) {
        return Tensor.of(backend, rng.normal(batch * 3 * res * res, 0, 1), batch, 3, res, res);
    }

    /** Uniform random labels in [0, classes), I64 [batch]. */
    protected final Tensor labels(dvp.engine.Rng rng, int batch, int classes) {
        long[] y = new long[batch];
        for (int i = 0; i < batch; i++) y[i] = rng.nextInt(classes);
        return Tensor.ofLongs(backend, y, batch);
    }

    protected static Map<String, float[]> values(Map<String, Tensor> named) {
        Map<String, float[]> m = new LinkedHashMap<>();
        named.forEach((k, t) -> {
            if (t.dtype() == dvp.engine.DType.F32) {
                m.put(k, t.toFloatArray());
            } else { // counters (num_batches_tracked): small integers, exact as floats
                long[] l = t.toLongArray();
                float[] f = new float[l.length];
                for (int i = 0; i < l.length; i++) f[i] = l[i];
                m.put(k, f);
            }
        });
        return m;
    }

    @Override
    public void close() {
        if (graphed != null) graphed.close(); // its graphs use the scenario's tensors: before the scope frees them
        if (scope != null && !scope.isClosed()) scope.close();
    }
}
