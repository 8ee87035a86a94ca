package dvp.engine.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator's bookkeeping against a fake device (the real one needs a GPU). */
class CachingAllocatorTest {
    /** Hands out addresses from a counter, with a capacity, recording every call. */
    static final class FakeDevice implements CachingAllocator.Device {
        final long capacity;
        long next = 1L << 32, used;
        int mallocs, frees, syncs;
        final java.util.Map<Long, Long> live = new java.util.HashMap<>();

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public long malloc(long bytes) {
            if (used + bytes > capacity) return 0;
            long a = next;
            next += bytes + 4096;
            used += bytes;
            live.put(a, bytes);
            mallocs++;
            return a;
        }

        @Override public void free(long address) {
            used -= live.remove(address);
            frees++;
        }

        @Override public void synchronize() { syncs++; }

        @Override public long[] memInfo() { return new long[]{capacity - used, capacity}; }
    }

    @Test
    void sizeClasses() {
        assertEquals(512, CachingAllocator.roundSize(1));
        assertEquals(512, CachingAllocator.roundSize(512));
        assertEquals(1024, CachingAllocator.roundSize(513));
        assertEquals(1L << 20, CachingAllocator.roundSize((1L << 20) - 3));
        long big = CachingAllocator.roundSize(5_000_000);
        assertTrue(big >= 5_000_000 && big <= 5_000_000 * 1.25 + (2 << 20) && big % (2 << 20) == 0, "class " + big);
        for (long b = 1; b < 1L << 33; b = b * 3 + 7) assertTrue(CachingAllocator.roundSize(b) >= b, "class below request for " + b);
    }

    @Test
    void smallBlocksShareSegmentsAndAreReused() {
        FakeDevice d = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(d);
        List<CachingAllocator.Block> bs = new ArrayList<>();
        for (int i = 0; i < 100; i++) bs.add(a.allocate(100, null));
        assertEquals(1, d.mallocs, "100 small blocks fit one 2 MiB segment");
        Set<Long> addrs = new HashSet<>();
        for (CachingAllocator.Block b : bs) assertTrue(addrs.add(b.address), "two live blocks share an address");
        assertEquals(100 * 512, a.stats().allocated());
        long first = bs.get(7).address;
        a.free(bs.get(7));
        assertEquals(first, a.allocate(300, null).address, "a freed block of the class is reused");
        assertEquals(1, d.mallocs);
    }

    @Test
    void largeBlocksAreCachedAndStatsTrackPeaks() {
        FakeDevice d = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.Block x = a.allocate(10_000_000, null);
        long addr = x.address;
        a.free(x);
        assertEquals(0, a.stats().allocated());
        assertEquals(x.size, a.stats().reserved(), "freed memory stays reserved (cached)");
        CachingAllocator.Block y = a.allocate(9_999_000, null);
        assertEquals(addr, y.address, "same class reuses the cached block");
        assertEquals(1, d.mallocs);
        assertEquals(y.size, a.stats().peakAllocated());
        a.free(y);
        a.releaseCached();
        assertEquals(0, a.stats().reserved());
        assertEquals(1, d.frees);
        assertTrue(d.syncs > 0, "memory goes back to the driver only after a sync");
    }

    @Test
    void outOfMemoryReleasesTheCacheThenReportsLikePyTorch() {
        FakeDevice d = new FakeDevice(64L << 20);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.Block x = a.allocate(40L << 20, null);
        a.free(x); // cached, 40 MiB reserved
        CachingAllocator.Block y = a.allocate(50L << 20, "activation");
        assertEquals(1, d.frees, "the cached block was released to make room");
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(30L << 20, "weights"));
        String m = e.getMessage();
        assertTrue(m.contains("Tried to allocate 30.00 MiB for weights"), m);
        assertTrue(m.contains("total capacity of 64.00 MiB"), m);
        assertTrue(m.contains("is allocated by dvp tensors") && m.contains("reserved by dvp but unallocated"), m);
        a.free(y);
    }

    @Test
    void graphPoolKeepsCapturedBlocksAwayFromOtherWork() {
        FakeDevice d = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.GraphPool pool = a.beginCapture();
        CachingAllocator.Block t = a.allocate(4L << 20, null);
        a.free(t); // a temporary of the captured step
        CachingAllocator.Block again = a.allocate(4L << 20, null);
        assertEquals(t.address, again.address, "within the capture, the graph's own freed blocks are reused");
        a.free(again);
        a.endCapture();
        CachingAllocator.Block other = a.allocate(4L << 20, null);
        assertNotEquals(t.address, other.address, "after capture, other work must not get the graph's memory");
        a.releaseCached();
        assertTrue(d.live.containsKey(t.address), "memory of a live graph is never released");
        a.releasePool(pool);
        CachingAllocator.Block later = a.allocate(4L << 20, null);
        assertEquals(t.address, later.address, "after the graph is released its memory is ordinary cache again");
    }

    @Test
    void aBlockFromBeforeTheCaptureThatTheGraphUsesStaysWithTheGraphWhenFreed() {
        FakeDevice d = new FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.Block workspace = a.allocate(8L << 20, null);
        CachingAllocator.GraphPool pool = a.beginCapture();
        a.usedDuringCapture(workspace);
        a.endCapture();
        a.free(workspace); // e.g. the workspace grew after the capture
        assertNotEquals(workspace.address, a.allocate(8L << 20, null).address, "other work must not get memory a graph replays into");
        a.releasePool(pool);
        assertEquals(workspace.address, a.allocate(8L << 20, null).address);
    }
}
