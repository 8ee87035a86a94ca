package dvp.engine.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Device memory for tensors without a cuMemAlloc per op, in the spirit of PyTorch's caching
 * allocator. Requests are rounded up to a size class; a freed block goes back to its class's free
 * list and is handed out again to the next request of that class. Reuse is safe without events
 * because dvp uses one stream: work that read a block was queued before any work that writes it
 * again.
 * <ul>
 *   <li>Small requests (&le; 1 MiB) are powers of two from 512 B, carved out of 2 MiB segments so
 *       thousands of per-channel vectors cost a handful of cuMemAlloc calls.</li>
 *   <li>Large requests get their own segment, rounded up to one of four classes per octave (at
 *       most 25% over), then to 2 MiB (the driver's mapping granularity).</li>
 *   <li>When cuMemAlloc fails, the cache is released (after a stream sync) and the allocation
 *       retried once; if that fails too, a {@link CudaOutOfMemoryException} says, like PyTorch,
 *       what was requested, what the card has free, and what dvp has allocated and reserved.
 *       During a graph capture the cache is not released (that needs a synchronisation, which is
 *       illegal while capturing and would invalidate the capture; PyTorch skips it too): the
 *       exception comes at once and says so.</li>
 *   <li>CUDA graphs: blocks allocated or freed while a capture is active belong to that graph's
 *       private pool until the graph is released, so a replay never writes into memory that other
 *       work has been handed in the meantime. A block allocated outside captures that graphs use
 *       (the shared cuDNN workspace, {@link #usedDuringCapture}) is shared: every live graph that
 *       used it holds it, and once freed it is reused only after the last of them is released.</li>
 * </ul>
 * Statistics: allocated (bytes in live blocks, by class size), reserved (bytes obtained from
 * cuMemAlloc), and their peaks.
 *
 * <p>UNVERIFIED on a GPU: the bookkeeping is plain Java, exercised only through the CUDA backend.
 */
final class CachingAllocator {
    static final long SMALL_MAX = 1L << 20;
    static final long SMALL_MIN = 512;
    static final long SEGMENT = 2L << 20;

    /** The driver calls the allocator needs, so the bookkeeping can be tested without a GPU. */
    interface Device {
        /** Returns the address, or 0 when the device is out of memory (other errors throw). */
        long malloc(long bytes);

        void free(long address);

        /** Waits until the device is idle (before memory is returned to the driver). */
        void synchronize();

        /** {free, total} bytes of the card. */
        long[] memInfo();
    }

    /** A piece of device memory handed out to a tensor. */
    static final class Block {
        final long address;
        final long size;
        final Segment segment;
        /** The graph that owns it (allocated or freed during that graph's capture), or null. */
        GraphPool pool;
        /** Live graphs that use it without owning it ({@link #usedDuringCapture}). */
        int sharedBy;
        boolean live;

        Block(long address, long size, Segment segment) {
            this.address = address;
            this.size = size;
            this.segment = segment;
        }
    }

    /** One cuMemAlloc. */
    static final class Segment {
        final long address;
        final long size;
        final boolean small;
        int blocksOut;
        /** Blocks of this segment that belong to a graph pool (the segment must stay). */
        int graphBlocks;

        Segment(long address, long size, boolean small) {
            this.address = address;
            this.size = size;
            this.small = small;
        }
    }

    /** Memory owned by one CUDA graph until it is released, and the blocks it shares with others. */
    static final class GraphPool {
        final Map<Long, ArrayDeque<Block>> free = new HashMap<>();
        final List<Block> all = new ArrayList<>();
        final List<Block> shared = new ArrayList<>();
    }

    private final Device device;
    private final Map<Long, ArrayDeque<Block>> free = new HashMap<>();
    private final List<Segment> segments = new ArrayList<>();
    /** Freed blocks that a live graph still shares: out of circulation until its last sharer is released. */
    private final Set<Block> parked = Collections.newSetFromMap(new IdentityHashMap<>());
    private GraphPool capturing;

    private long allocated, reserved, peakAllocated, peakReserved, allocCount, mallocCount;

    CachingAllocator(Device device) { this.device = device; }

    /** The size class a request of {@code bytes} is served from. */
    static long roundSize(long bytes) {
        long b = Math.max(bytes, 1);
        if (b <= SMALL_MAX) return Math.max(SMALL_MIN, ceilPow2(b));
        long p = Long.highestOneBit(b);            // b in [p, 2p)
        long quarter = p / 4;
        long cls = ((b + quarter - 1) / quarter) * quarter;
        return ((cls + SEGMENT - 1) / SEGMENT) * SEGMENT;
    }

    private static long ceilPow2(long b) {
        long p = Long.highestOneBit(b);
        return p == b ? b : p << 1;
    }

    synchronized Block allocate(long bytes, String what) {
        long size = roundSize(bytes);
        Block b = null;
        if (capturing != null) b = poll(capturing.free, size);
        if (b == null) b = poll(free, size);
        if (b == null) b = size <= SMALL_MAX ? carveSmall(size, bytes, what) : newLarge(size, bytes, what);
        if (capturing != null && b.pool == null) adopt(capturing, b);
        b.live = true;
        b.segment.blocksOut++;
        allocated += b.size;
        allocCount++;
        peakAllocated = Math.max(peakAllocated, allocated);
        return b;
    }

    synchronized void free(Block b) {
        if (!b.live) return;
        b.live = false;
        b.segment.blocksOut--;
        allocated -= b.size;
        if (b.pool == null && capturing != null) {
            // freed while a graph is being captured: the graph may still read or write it on replay
            adopt(capturing, b);
        }
        if (b.pool != null) b.pool.free.computeIfAbsent(b.size, k -> new ArrayDeque<>()).push(b);
        else if (b.sharedBy > 0) parked.add(b); // a live graph may still replay into it
        else free.computeIfAbsent(b.size, k -> new ArrayDeque<>()).push(b);
    }

    private static void adopt(GraphPool pool, Block b) {
        b.pool = pool;
        b.segment.graphBlocks++;
        pool.all.add(b);
    }

    private static Block poll(Map<Long, ArrayDeque<Block>> lists, long size) {
        ArrayDeque<Block> q = lists.get(size);
        return q == null || q.isEmpty() ? null : q.pop();
    }

    private Block carveSmall(long size, long requested, String what) {
        Segment s = newSegment(SEGMENT, true, requested, what);
        ArrayDeque<Block> q = free.computeIfAbsent(size, k -> new ArrayDeque<>());
        // keep the first block, queue the rest (in address order: pop() takes the lowest next)
        for (long off = SEGMENT - size; off >= size; off -= size) q.push(new Block(s.address + off, size, s));
        return new Block(s.address, size, s);
    }

    private Block newLarge(long size, long requested, String what) {
        Segment s = newSegment(size, false, requested, what);
        return new Block(s.address, size, s);
    }

    private Segment newSegment(long size, boolean small, long requested, String what) {
        long addr = device.malloc(size);
        if (addr == 0 && capturing == null) {
            releaseCached();
            addr = device.malloc(size);
        }
        if (addr == 0) throw outOfMemory(requested, what);
        Segment s = new Segment(addr, size, small);
        segments.add(s);
        reserved += size;
        mallocCount++;
        peakReserved = Math.max(peakReserved, reserved);
        return s;
    }

    /**
     * Returns cached memory to the driver (torch.cuda.empty_cache): large free blocks, and small
     * segments none of whose blocks is in use. Memory held by live graphs stays.
     */
    synchronized void releaseCached() {
        if (capturing != null)
            throw new IllegalStateException("emptyCache during a CUDA graph capture: returning memory to the driver needs a "
                    + "synchronisation, which would invalidate the capture; empty the cache before capturing");
        device.synchronize();
        List<Segment> keep = new ArrayList<>();
        for (Segment s : segments) {
            if (s.blocksOut == 0 && !heldByGraph(s)) {
                device.free(s.address);
                reserved -= s.size;
            } else {
                keep.add(s);
            }
        }
        java.util.Set<Segment> gone = new java.util.HashSet<>(segments);
        gone.removeAll(keep);
        segments.clear();
        segments.addAll(keep);
        for (ArrayDeque<Block> q : free.values()) q.removeIf(b -> gone.contains(b.segment));
        free.values().removeIf(ArrayDeque::isEmpty);
    }

    private static boolean heldByGraph(Segment s) { return s.graphBlocks > 0; }

    /** Starts routing allocations and frees into a new graph pool (stream capture has begun). */
    synchronized GraphPool beginCapture() {
        if (capturing != null) throw new IllegalStateException("a CUDA graph capture is already active");
        capturing = new GraphPool();
        return capturing;
    }

    synchronized void endCapture() { capturing = null; }

    /**
     * A block the graph being captured uses but did not allocate (the cuDNN workspace, shared by
     * every convolution and every graph): the graph holds it as a sharer, so if it is freed later
     * (the workspace grows) no other work gets it while this graph, or any other live graph that
     * used it, may still replay into it.
     */
    synchronized void usedDuringCapture(Block b) {
        if (capturing == null || b.pool == capturing || capturing.shared.contains(b)) return;
        capturing.shared.add(b);
        b.sharedBy++;
        b.segment.graphBlocks++;
    }

    /**
     * The graph is destroyed: its free blocks go back to the general cache (unless another live
     * graph shares them); live ones go back when freed; blocks it shared are released by it.
     */
    synchronized void releasePool(GraphPool pool) {
        for (Block b : pool.all) {
            b.pool = null;
            b.segment.graphBlocks--;
        }
        for (Block b : pool.shared) {
            b.sharedBy--;
            b.segment.graphBlocks--;
        }
        for (ArrayDeque<Block> q : pool.free.values()) for (Block b : q) {
            if (b.sharedBy > 0) parked.add(b);
            else free.computeIfAbsent(b.size, k -> new ArrayDeque<>()).push(b);
        }
        for (Block b : pool.shared) {
            if (!b.live && b.pool == null && b.sharedBy == 0 && parked.remove(b))
                free.computeIfAbsent(b.size, k -> new ArrayDeque<>()).push(b);
        }
        pool.free.clear();
        pool.all.clear();
        pool.shared.clear();
    }

    /** Frees every segment (context teardown). */
    synchronized void releaseAll() {
        device.synchronize();
        for (Segment s : segments) device.free(s.address);
        segments.clear();
        free.clear();
        parked.clear();
        reserved = 0;
        allocated = 0;
    }

    private CudaOutOfMemoryException outOfMemory(long requested, String what) {
        long[] info = device.memInfo();
        return new CudaOutOfMemoryException(String.format(
                "CUDA out of memory. Tried to allocate %s%s%s. GPU has a total capacity of %s of which %s is free. "
                        + "Of the memory in use, %s is allocated by dvp tensors and %s is reserved by dvp but unallocated "
                        + "(cached). Reduce the batch size, or release long-lived tensors (close their Scope)%s.",
                fmt(requested), what == null ? "" : " for " + what, capturing == null ? "" : " during a CUDA graph capture",
                fmt(info[1]), fmt(info[0]), fmt(allocated), fmt(reserved - allocated),
                capturing == null ? "" : "; the cache is not released during a capture (that needs a synchronisation): "
                        + "call emptyCache() before capturing"));
    }

    static String fmt(long bytes) {
        if (bytes >= 1L << 30) return String.format("%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format("%.2f MiB", bytes / (double) (1L << 20));
        if (bytes >= 1L << 10) return String.format("%.2f KiB", bytes / 1024.0);
        return bytes + " B";
    }

    /** A snapshot of the allocator's counters. */
    record Stats(long allocated, long reserved, long peakAllocated, long peakReserved, long allocations, long cudaMallocs) {}

    synchronized Stats stats() { return new Stats(allocated, reserved, peakAllocated, peakReserved, allocCount, mallocCount); }

    synchronized void resetPeaks() {
        peakAllocated = allocated;
        peakReserved = reserved;
    }
}
