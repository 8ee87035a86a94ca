package dvp.engine.cuda;

import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.cuda.ffm.LibraryCallException;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One cuDNN algorithm per convolution problem and direction, chosen once and cached, as PyTorch's
 * {@code cudnn.benchmark}: the first call of a (problem, direction, deterministic, benchmark) key
 * runs cuDNN's Find on the call's own buffers and keeps the fastest algorithm that succeeded, fits
 * {@link CudaConv#MAX_WORKSPACE} and, with {@code --deterministic}, is deterministic; later calls
 * reuse it. The problem key (shapes, strides, pads, dilation, groups, data type, math type) is
 * {@link CudaConv}'s plan key. With benchmarking off, cuDNN's _v7 heuristics choose instead
 * (filtered the same way).
 *
 * <p>Find synchronises the stream and times the algorithms, which a CUDA graph capture forbids
 * (the synchronisation would invalidate the capture). A key that misses while the context is
 * capturing therefore gets the _v7 heuristic choice for that shape, which is not cached: the next
 * eager call of the shape still tunes it, and the graph keeps the algorithm it captured.
 *
 * <p>Invariant: a cached choice is only ever used with the settings in its key, so turning
 * {@code deterministic} on can never reuse a non-deterministic choice made before.
 */
final class CudaConvAlgorithms {
    private CudaConvAlgorithms() {}

    /** Where a choice came from. */
    enum Source { FOUND, HEURISTIC, HEURISTIC_DURING_CAPTURE }

    record Choice(Cudnn.Algo algo, Source source) {}

    record Key(Object problem, Cudnn.Direction dir, boolean deterministic, boolean benchmark) {}

    private static final Map<Key, Choice> CACHE = new HashMap<>();
    /** Find calls made (test hook: a cached key must not call Find again). */
    private static final AtomicInteger FIND_CALLS = new AtomicInteger();

    /**
     * The algorithm for one convolution call. Descriptors and buffers in the order of that
     * direction's cudnnConvolution* call: FORWARD (x, w, y), BACKWARD_DATA (w, dy, dx),
     * BACKWARD_FILTER (x, dy, dw); the output {@code p2} may be overwritten (the call writes it next).
     */
    static synchronized Choice choose(CudaContext ctx, Object problem, Cudnn.Direction dir, MemorySegment d0, long p0, MemorySegment d1,
                                      long p1, MemorySegment conv, MemorySegment d2, long p2) {
        boolean det = ctx.deterministic, benchmark = ctx.cudnnBenchmark;
        Key key = new Key(problem, dir, det, benchmark);
        Choice c = CACHE.get(key);
        if (c != null) return c;
        if (benchmark && ctx.capturing)
            return new Choice(ctx.dnn.chooseAlgorithm(dir, d0, d1, conv, d2, CudaConv.MAX_WORKSPACE, det), Source.HEURISTIC_DURING_CAPTURE);
        c = benchmark ? find(ctx, dir, d0, p0, d1, p1, conv, d2, p2, det)
                : new Choice(ctx.dnn.chooseAlgorithm(dir, d0, d1, conv, d2, CudaConv.MAX_WORKSPACE, det), Source.HEURISTIC);
        CACHE.put(key, c);
        return c;
    }

    /**
     * Runs Find with a workspace from the caching allocator as large as the largest the heuristics
     * report for any algorithm that can run (at most MAX_WORKSPACE), so every candidate can run; if
     * that much is not free, Find runs without one (only workspace-free algorithms then qualify).
     */
    private static Choice find(CudaContext ctx, Cudnn.Direction dir, MemorySegment d0, long p0, MemorySegment d1, long p1,
                               MemorySegment conv, MemorySegment d2, long p2, boolean det) {
        long bytes = 0;
        for (Cudnn.AlgoPerf p : ctx.dnn.heuristics(dir, d0, d1, conv, d2))
            if (p.succeeded() && p.memory() <= CudaConv.MAX_WORKSPACE) bytes = Math.max(bytes, p.memory());
        CachingAllocator.Block ws = null;
        if (bytes > 0) {
            try {
                ws = ctx.allocator.allocate(bytes, "cuDNN Find workspace");
            } catch (CudaOutOfMemoryException e) {
                bytes = 0;
            }
        }
        List<Cudnn.AlgoPerf> found;
        try {
            FIND_CALLS.incrementAndGet();
            found = ctx.dnn.find(dir, d0, p0, d1, p1, conv, d2, p2, ws == null ? 0 : ws.address, bytes);
        } finally {
            // Find has synchronised the stream: nothing queued still uses the block
            if (ws != null) ctx.allocator.free(ws);
        }
        for (Cudnn.AlgoPerf p : found) {
            if (!p.succeeded() || p.memory() > CudaConv.MAX_WORKSPACE || (det && !p.deterministic())) continue;
            long need = ctx.dnn.workspaceSize(dir, d0, d1, conv, d2, p.algo());
            if (need <= CudaConv.MAX_WORKSPACE) return new Choice(new Cudnn.Algo(p.algo(), need, p.deterministic()), Source.FOUND);
        }
        throw new LibraryCallException("cuDNN", Cudnn.findName(dir), -1, "no " + (det ? "deterministic " : "") + "algorithm ran within "
                + bytes + " bytes of workspace (limit " + CudaConv.MAX_WORKSPACE + ") among " + found, ctx.where());
    }

    /** Test hook: how many times Find has been called in this JVM. */
    static int findCalls() { return FIND_CALLS.get(); }

    /** Test hook: every cached choice with its key. */
    static synchronized Map<Key, Choice> cached() { return Map.copyOf(CACHE); }
}
