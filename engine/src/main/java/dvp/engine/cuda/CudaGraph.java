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
        ctx.capturing = true;
        boolean ended = false;
        try {
            ctx.check(cuStreamBeginCapture(ctx.stream, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */), "cuStreamBeginCapture");
            try {
                body.run();
            } finally {
                ctx.capturing = false;
                int r = cuStreamEndCapture(ctx.stream, g.graph);
                ended = true;
                ctx.allocator.endCapture();
                ctx.check(r, "cuStreamEndCapture");
            }
            ctx.check(cuGraphInstantiate(g.exec, g.graph, 0), "cuGraphInstantiate");
            return g;
        } catch (RuntimeException e) {
            if (!ended) {
                ctx.capturing = false;
                ctx.allocator.endCapture();
            }
            ctx.allocator.releasePool(pool);
            throw e;
        }
    }

    /** Queues the whole captured sequence once more on the stream (asynchronous). */
    public void replay() {
        if (closed) throw new IllegalStateException("CUDA graph replayed after close()");
        ctx.enter("graph replay");
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
