package dvp.training.loop;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.cuda.CudaGraph;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.nn.BatchNorm2d;
import dvp.nn.Module;
import dvp.nn.optim.Sgd;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training step run as one CUDA graph: PyTorch's recipe (eager warm-up, capture once per input
 * shape, static input buffers, replay). On any other backend, or switched off, it runs the step as
 * it is, op by op.
 *
 * <p>Per key (the caller's variant name and every input's dtype and shape):
 * <ol>
 *   <li>the first {@value #WARMUP_STEPS} step(s) run eagerly: they create the gradients, momentum
 *       buffers, cuDNN plans and multi-tensor tables that a capture must find already made (nothing
 *       may be allocated on the host side of a capture that later steps rely on, and an autotuner's
 *       search cannot run while capturing);</li>
 *   <li>the next step is captured: the inputs are copied into static device tensors owned by this
 *       key, the body runs once against those, recording into the graph, and the graph is replayed
 *       (capturing runs nothing);</li>
 *   <li>every later step copies its inputs into the static tensors and replays.</li>
 * </ol>
 * A new shape (the smaller last batch of an epoch) is a new key, so it warms up and is captured
 * separately; at most {@value #MAX_GRAPHS} graphs are kept (least recently used closed first).
 *
 * <p>What keeps a replay equal to the eager step (checked bit for bit by GraphedStepTest):
 * <ul>
 *   <li>Host values that change step to step never enter the graph: the learning rate is written
 *       into the optimizer's device tensor before the capture and before every replay
 *       ({@link Sgd#writeLr}); a permutation or any other per-step data is an input tensor.</li>
 *   <li>{@code num_batches_tracked}: the capture counted one step's batches on the host; each later
 *       replay counts them again ({@link BatchNorm2d#countReplayedBatches}). A BatchNorm with a
 *       cumulative average (momentum null) would need 1/num_batches_tracked on the device: such a
 *       model is refused with the layer's name.</li>
 *   <li>The body must not read the device from the host (item(), toFloatArray, a NaN check): the
 *       capture fails, naming the transfer. The outputs are read after the replay, outside the
 *       graph (the loop's {@link StepScalars} copy them before the next step overwrites them).</li>
 * </ul>
 *
 * <p>Memory: the static inputs, the outputs and every temporary of a captured step live in a
 * scope owned by its graph (the allocator keeps the temporaries' blocks for the graph's replays)
 * and are freed by {@link #close()} or when the graph is evicted. The model, optimizer state and
 * gradients are the eager step's own tensors: the graph reads and writes them in place, so
 * checkpoints and {@code --resume} see the same state in either mode.
 */
public final class GraphedStep implements AutoCloseable {
    /** Eager steps per key before it is captured. */
    public static final int WARMUP_STEPS = 2;
    /** Captured graphs kept at once. */
    public static final int MAX_GRAPHS = 4;

    /** The step: reads only {@code inputs} (and long-lived model and optimizer state), returns its scalars. */
    @FunctionalInterface
    public interface Body {
        Tensor[] run(Tensor[] inputs);
    }

    private static final class Entry {
        int eagerSteps;
        Scope scope;
        Tensor[] inputs;
        Tensor[] outputs;
        CudaGraph graph;
        long[] batchesPerReplay;
    }

    private final CudaBackend cuda;
    /** The wrapper the step's tensors live on when it is a profiler's: while it records, steps run op by op (see {@link #run}). */
    private final ProfilingBackend profiled;
    private final Sgd optimizer;
    private final Map<String, BatchNorm2d> norms = new LinkedHashMap<>();
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true); // access order: LRU first
    private long captures, replays;

    /**
     * @param backend  the backend the step runs on: graphs are used when it is the CUDA backend (also
     *                 behind a profiling wrapper that records nothing) and {@code enabled}
     * @param modules  every module the step runs (their BatchNorm layers' counters are advanced per replay)
     */
    public GraphedStep(Backend backend, boolean enabled, Sgd optimizer, Map<String, ? extends Module> modules) {
        this.cuda = enabled ? cudaOf(backend) : null;
        this.profiled = backend instanceof ProfilingBackend p ? p : null;
        this.optimizer = optimizer;
        modules.forEach((root, m) -> m.namedModules().forEach((name, sub) -> {
            if (sub instanceof BatchNorm2d bn) norms.put(root + (name.isEmpty() ? "" : "." + name.substring(0, name.length() - 1)), bn);
        }));
    }

    /** The CUDA backend behind {@code b}, or null when it is not one. */
    static CudaBackend cudaOf(Backend b) {
        if (b instanceof CudaBackend c) return c;
        if (b instanceof ProfilingBackend p && p.inner() instanceof CudaBackend c) return c;
        return null;
    }

    /** Whether steps are captured and replayed (the switch is on and the backend is CUDA). */
    public boolean isGraphed() { return cuda != null; }

    /** Graphs captured and replays run so far (a capture is followed by its first replay). */
    public long captures() { return captures; }

    public long replays() { return replays; }

    /** Captured graphs held now (never more than {@value #MAX_GRAPHS}); for tests of the eviction. */
    int liveGraphs() {
        int n = 0;
        for (Entry e : entries.values()) if (e.graph != null) n++;
        return n;
    }

    /**
     * Runs one step of {@code body} on {@code inputs} (device tensors; copied, never kept). Returns
     * the body's outputs: in graph mode the graph's own tensors, overwritten by the next replay of
     * the same key, so read or copy them before the next step.
     *
     * While a profiler records on the step's backend, the step runs op by op (a replay would show the
     * profiler one launch instead of the ops whose FLOPs and bytes it counts); it changes the same state.
     *
     * @param variant names a different step structure on the same shapes (e.g. distillation on or off);
     *                the body must run the same ops on the same tensors every time for one variant
     */
    public Tensor[] run(String variant, Tensor[] inputs, Body body) {
        if (cuda == null || (profiled != null && profiled.profiler() != null)) return body.run(inputs);
        String key = key(variant, inputs);
        Entry e = entries.computeIfAbsent(key, k -> new Entry());
        if (e.graph == null && e.eagerSteps < WARMUP_STEPS) {
            e.eagerSteps++;
            return body.run(inputs);
        }
        if (e.graph == null) {
            evictBeyond(MAX_GRAPHS - 1);
            capture(key, e, inputs, body);
            return e.outputs;
        }
        for (int i = 0; i < inputs.length; i++) e.inputs[i].backend().copy(inputs[i], e.inputs[i]);
        optimizer.writeLr();
        e.graph.replay();
        replays++;
        int i = 0;
        for (BatchNorm2d bn : norms.values()) bn.countReplayedBatches(e.batchesPerReplay[i++]);
        return e.outputs;
    }

    private void capture(String key, Entry e, Tensor[] inputs, Body body) {
        refuseUncapturable();
        Scope scope = Scope.detached("cuda graph " + key);
        try {
            Tensor[] statics = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                Tensor in = inputs[i];
                statics[i] = Scope.allocatingIn(scope, () -> Tensor.empty(in.backend(), in.dtype(), in.shape()));
                in.backend().copy(in, statics[i]);
            }
            optimizer.writeLr(); // the update reads the lr tensor; the capture then records no lr write
            long[] before = counts();
            Tensor[][] out = new Tensor[1][];
            CudaGraph g = Scope.allocatingIn(scope, () -> cuda.captureGraph(() -> out[0] = body.run(statics)));
            long[] after = counts();
            e.batchesPerReplay = new long[after.length];
            for (int i = 0; i < after.length; i++) e.batchesPerReplay[i] = after[i] - before[i];
            e.scope = scope;
            e.inputs = statics;
            e.outputs = out[0];
            e.graph = g;
        } catch (RuntimeException ex) {
            scope.close();
            throw new IllegalStateException("capturing the training step as a CUDA graph failed (" + key + "): " + ex.getMessage()
                    + "; --no-cuda-graph runs the step op by op", ex);
        }
        captures++;
        // the capture ran nothing: this replay is the step. Its batches were counted while capturing.
        e.graph.replay();
        replays++;
    }

    /** A cumulative-average BatchNorm reads 1/num_batches_tracked from the host: a graph would freeze it. */
    private void refuseUncapturable() {
        norms.forEach((name, bn) -> {
            if (bn.isTraining() && bn.tracksRunningStats() && bn.momentum() == null)
                throw new IllegalStateException("CUDA graph: BatchNorm layer '" + name + "' has momentum None (a cumulative average, factor "
                        + "1/num_batches_tracked computed on the host each step), which a replayed graph cannot follow; give it a momentum "
                        + "or run with --no-cuda-graph");
        });
    }

    private long[] counts() {
        long[] c = new long[norms.size()];
        int i = 0;
        for (BatchNorm2d bn : norms.values()) c[i++] = bn.numBatchesTracked();
        return c;
    }

    private static String key(String variant, Tensor[] inputs) {
        StringBuilder sb = new StringBuilder(variant);
        for (Tensor t : inputs) sb.append(' ').append(t.dtype() == DType.F32 ? "" : t.dtype().toString()).append(Shape.str(t.shape()));
        return sb.toString();
    }

    /** Closes the least recently used graphs until at most {@code keep} remain. */
    private void evictBeyond(int keep) {
        List<Map.Entry<String, Entry>> captured = new ArrayList<>();
        for (var en : entries.entrySet()) if (en.getValue().graph != null) captured.add(en);
        Iterator<Map.Entry<String, Entry>> it = captured.iterator();
        for (int n = captured.size(); n > keep && it.hasNext(); n--) {
            var en = it.next();
            release(en.getValue());
            entries.remove(en.getKey()); // seen again: warms up and captures anew
        }
    }

    private static void release(Entry e) {
        if (e.graph != null) e.graph.close();
        if (e.scope != null) e.scope.close();
        e.graph = null;
        e.scope = null;
        e.inputs = e.outputs = null;
    }

    /** Closes every graph and frees its tensors; the model and optimizer state are untouched. */
    @Override
    public void close() {
        for (Entry e : entries.values()) release(e);
        entries.clear();
    }
}
