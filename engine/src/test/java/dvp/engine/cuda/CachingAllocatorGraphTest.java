package dvp.engine.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The allocator's graph rules against a fake device: memory a live graph may still replay into is
 * never handed to other work, even when several graphs share it (the cuDNN workspace), and an
 * allocation that fails during a capture never synchronises (which is illegal while capturing).
 */
class CachingAllocatorGraphTest {
    /** The fake device, counting synchronisations while a capture is active (illegal there). */
    static final class CaptureAwareDevice implements CachingAllocator.Device {
        final CachingAllocatorTest.FakeDevice d;
        boolean capturing;
        int syncs, syncsDuringCapture;

        CaptureAwareDevice(long capacity) { d = new CachingAllocatorTest.FakeDevice(capacity); }

        @Override public long malloc(long bytes) { return d.malloc(bytes); }

        @Override public void free(long address) { d.free(address); }

        @Override public void synchronize() {
            if (capturing) syncsDuringCapture++;
            syncs++;
        }

        @Override public long[] memInfo() { return d.memInfo(); }
    }

    /**
     * CudaContext.workspace(): one block shared by every convolution. Graphs A and B both use it;
     * A is destroyed; the workspace grows (the old block is freed); a new tensor of that size must
     * not get the old block while B may still replay into it, and gets it once B is gone too.
     */
    @Test
    void aWorkspaceSharedByTwoGraphsStaysReservedUntilTheLastIsReleased() {
        CachingAllocatorTest.FakeDevice d = new CachingAllocatorTest.FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.Block ws = a.allocate(3 << 20, "cuDNN workspace");
        CachingAllocator.GraphPool ga = a.beginCapture();
        a.usedDuringCapture(ws);
        a.endCapture();
        CachingAllocator.GraphPool gb = a.beginCapture();
        a.usedDuringCapture(ws);
        a.endCapture();
        a.releasePool(ga); // graph A closed
        a.free(ws);        // the workspace grows: its old block is freed
        CachingAllocator.Block t = a.allocate(3 << 20, "tensor");
        assertNotEquals(ws.address, t.address, "graph B may still replay into the old workspace; it was handed to a tensor");
        a.free(t);
        a.releasePool(gb); // graph B closed: nothing can write the old block any more
        List<Long> got = new ArrayList<>();
        for (int i = 0; i < 2; i++) got.add(a.allocate(3 << 20, "tensor").address);
        assertTrue(got.contains(ws.address), "after the last graph is released the block is reused: " + got + " vs " + ws.address);
    }

    /** The same when the first graph owned the block (allocated during its capture) and a second one shares it. */
    @Test
    void aBlockOwnedByOneGraphAndSharedByAnotherOutlivesItsOwner() {
        CachingAllocatorTest.FakeDevice d = new CachingAllocatorTest.FakeDevice(1L << 30);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.GraphPool ga = a.beginCapture();
        CachingAllocator.Block ws = a.allocate(5 << 20, "cuDNN workspace"); // first allocated inside A's capture
        a.usedDuringCapture(ws);
        a.endCapture();
        CachingAllocator.GraphPool gb = a.beginCapture();
        a.usedDuringCapture(ws);
        a.endCapture();
        a.free(ws);        // grows later: the block goes to A's pool
        a.releasePool(ga); // A closed: its free blocks return to the cache, but B still shares this one
        CachingAllocator.Block t = a.allocate(5 << 20, "tensor");
        assertNotEquals(ws.address, t.address, "handed out while graph B can still replay into it");
        a.releasePool(gb);
        CachingAllocator.Block again = a.allocate(5 << 20, "tensor");
        assertEquals(ws.address, again.address, "reused once no graph holds it");
        a.free(t);
        a.free(again);
        a.releaseCached(); // no graph reference is left behind: every segment goes back to the driver
        assertEquals(0, a.stats().reserved());
        assertEquals(0, d.used);
    }

    @Test
    void outOfMemoryDuringACaptureFailsWithoutSynchronising() {
        CaptureAwareDevice d = new CaptureAwareDevice(40L << 20);
        CachingAllocator a = new CachingAllocator(d);
        CachingAllocator.Block cached = a.allocate(30L << 20, "tensor");
        a.free(cached); // 30 MiB cached, 10 MiB free on the device
        a.beginCapture();
        d.capturing = true;
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(20L << 20, "activation"));
        assertEquals(0, d.syncsDuringCapture, "releasing the cache synchronises: illegal during a capture");
        assertTrue(e.getMessage().contains("during a CUDA graph capture") && e.getMessage().contains("emptyCache() before capturing"),
                e.getMessage());
        assertThrows(IllegalStateException.class, a::releaseCached, "emptyCache during a capture");
        assertEquals(0, d.syncsDuringCapture);
        d.capturing = false;
        a.endCapture();
        // outside a capture the same request succeeds by releasing the cache first
        assertTrue(a.allocate(20L << 20, "activation").address != 0);
        assertTrue(d.syncs > 0);
    }
}
