package dvp.engine.cuda;

import jcuda.driver.CUevent;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

/**
 * Host↔device copies through two pinned (page-locked) buffers used in turn, so an upload returns
 * as soon as its bytes are in pinned memory and the DMA engine copies them while the host fills the
 * other buffer. A buffer is reused only after the event recorded behind its last copy has passed.
 * Downloads wait for their copy (they are the explicit synchronisation points of the API).
 */
final class PinnedStaging {
    static final long CHUNK = 16L << 20;

    private static final class Buffer {
        HostPointer pointer;
        MemorySegment segment;
        final CUevent done = new CUevent();
        boolean pending;
    }

    private final CudaContext ctx;
    private final Buffer[] buffers = {new Buffer(), new Buffer()};
    private int next;

    PinnedStaging(CudaContext ctx) { this.ctx = ctx; }

    private Buffer acquire() {
        Buffer b = buffers[next];
        next ^= 1;
        if (b.pointer == null) {
            HostPointer p = new HostPointer();
            ctx.check(cuMemHostAlloc(p, CHUNK, 0), "cuMemHostAlloc(" + CHUNK + ")");
            long addr = p.address();
            if (addr == 0) {
                // JCuda may expose pinned memory only through a direct ByteBuffer
                ByteBuffer bb = p.getByteBuffer(0, CHUNK);
                addr = MemorySegment.ofBuffer(bb).address();
            }
            b.pointer = new HostPointer(addr);
            b.segment = MemorySegment.ofAddress(addr).reinterpret(CHUNK);
            ctx.check(cuEventCreate(b.done, 2 /* CU_EVENT_DISABLE_TIMING */), "cuEventCreate");
        }
        if (b.pending) {
            ctx.check(cuEventSynchronize(b.done), "cuEventSynchronize(staging)");
            b.pending = false;
        }
        return b;
    }

    /** Queues src[srcOff, srcOff+bytes) → device address dst; returns before the copy completes. */
    void upload(MemorySegment src, long srcOff, long dst, long bytes) {
        for (long off = 0; off < bytes; off += CHUNK) {
            long len = Math.min(CHUNK, bytes - off);
            Buffer b = acquire();
            MemorySegment.copy(src, srcOff + off, b.segment, 0, len);
            ctx.check(cuMemcpyHtoDAsync(new DevicePointer(dst + off), b.pointer, len, ctx.stream), "cuMemcpyHtoDAsync");
            ctx.check(cuEventRecord(b.done, ctx.stream), "cuEventRecord");
            b.pending = true;
        }
    }

    /** Copies device address src → dst[dstOff, dstOff+bytes) after all queued work; waits for it. */
    void download(long src, MemorySegment dst, long dstOff, long bytes) {
        for (long off = 0; off < bytes; off += CHUNK) {
            long len = Math.min(CHUNK, bytes - off);
            Buffer b = acquire();
            ctx.check(cuMemcpyDtoHAsync(b.pointer, new DevicePointer(src + off), len, ctx.stream), "cuMemcpyDtoHAsync");
            ctx.check(cuEventRecord(b.done, ctx.stream), "cuEventRecord");
            ctx.check(cuEventSynchronize(b.done), "cuEventSynchronize(download)");
            MemorySegment.copy(b.segment, 0, dst, dstOff + off, len);
        }
    }
}
