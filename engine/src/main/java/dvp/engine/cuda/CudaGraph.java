package dvp.engine.cuda;

import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;

import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;

/**
 * A training step (or any static-shape sequence of ops) captured once from the stream and replayed
 * with one launch. Capture in relaxed mode, so the caching allocator may still cuMemAlloc during a
 * first capture; memory allocated or freed during capture stays owned by this graph (see
 * {@link CachingAllocator}) until {@link #close()}.
 *
 * <p>Rules while capturing: no host transfers or synchronisation (they would be recorded against
 * staging buffers, or are illegal on a capturing stream); inputs are copied into the captured
 * tensors before each {@link #replay()}; tensors the graph uses must outlive it.
 *
 * <p>UNVERIFIED on a GPU.
 */
public final class CudaGraph implements AutoCloseable {
    private final CudaContext ctx;
    private final CUgraph graph = new CUgraph();
    private final CUgraphExec exec = new CUgraphExec();
    private final CachingAllocator.GraphPool pool;
    /** The ops the capture recorded, for error messages of a replay ("conv2dForward, relu, ..."). */
    private String ops = "";
    private boolean closed;

    private CudaGraph(CudaContext ctx, CachingAllocator.GraphPool pool) {
        this.ctx = ctx;
        this.pool = pool;
    }

    static CudaGraph capture(CudaContext ctx, Runnable body) {
        ctx.enter("graph capture");
        ctx.synchronize();
        CachingAllocator.GraphPool pool = ctx.allocator.beginCapture();
        CudaGraph g = new CudaGraph(ctx, pool);
        java.util.List<String> log = new java.util.ArrayList<>();
        ctx.captureLog = log;
        ctx.capturing = true;
        int begin = cuStreamBeginCapture(ctx.stream, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */);
        if (begin != 0) {
            ctx.capturing = false;
            ctx.captureLog = null;
            ctx.allocator.endCapture();
            ctx.allocator.releasePool(pool);
            ctx.check(begin, "cuStreamBeginCapture");
        }
        RuntimeException failure = null;
        boolean made = false;
        try {
            body.run();
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            // always end the capture, or the stream stays in capture mode and every later op fails
            ctx.capturing = false;
            ctx.captureLog = null;
            g.ops = summary(log);
            int end = cuStreamEndCapture(ctx.stream, g.graph);
            ctx.allocator.endCapture();
            made = end == 0;
            if (end != 0) {
                CudaException e = CudaErrors.error(end, "cuStreamEndCapture", "graph capture", "-", null);
                if (failure == null) failure = e;
                else failure.addSuppressed(e); // the body's own failure (e.g. out of memory) stays the one reported
            }
        }
        if (failure == null) {
            int r = cuGraphInstantiate(g.exec, g.graph, 0);
            if (r == 0) return g;
            failure = CudaErrors.error(r, "cuGraphInstantiate", "graph capture", "-", null);
        }
        // nothing captured will run: the graph and the memory it was given go back
        if (made) cuGraphDestroy(g.graph);
        ctx.allocator.releasePool(pool);
        throw failure;
    }

    /** "relu" or "conv2dForward, relu, ... (12 ops)": the captured ops named in a replay's errors. */
    private static String summary(java.util.List<String> ops) {
        java.util.List<String> distinct = new java.util.ArrayList<>(new java.util.LinkedHashSet<>(ops));
        String names = String.join(", ", distinct.subList(0, Math.min(8, distinct.size()))) + (distinct.size() > 8 ? ", ..." : "");
        return ops.size() == 1 ? names : names + " (" + ops.size() + " ops)";
    }

    /** Queues the whole captured sequence once more on the stream (asynchronous). */
    public void replay() {
        if (closed) throw new IllegalStateException("CUDA graph replayed after close()");
        ctx.enter("graph replay of [" + ops + "]");
        ctx.check(cuGraphLaunch(exec, ctx.stream), "cuGraphLaunch");
        ctx.exit();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        ctx.enter("graph close");
        ctx.synchronize();
        ctx.check(cuGraphExecDestroy(exec), "cuGraphExecDestroy");
        ctx.check(cuGraphDestroy(graph), "cuGraphDestroy");
        ctx.allocator.releasePool(pool);
    }
}
