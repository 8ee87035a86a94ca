package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Storage;
import org.lwjgl.system.MemoryUtil;

import java.lang.foreign.MemorySegment;

/**
 * Off-heap host memory from LWJGL's allocator (64-byte aligned, so vector loads never straddle a
 * cache line at offset 0). The segment is unbounded in lifetime as far as the JVM knows; use-
 * after-free is prevented one level up, where {@link dvp.engine.Tensor#storage()} checks
 * {@link #isFreed()} before any kernel sees the segment.
 */
final class CpuStorage implements Storage {
    static { HostHeapTuning.applied(); } // before the first allocation
    private final CpuBackend backend;
    private final DType dtype;
    private final long numel;
    private long address;
    private final MemorySegment segment;

    CpuStorage(CpuBackend backend, DType dtype, long numel) {
        this.backend = backend;
        this.dtype = dtype;
        this.numel = numel;
        // a whole number of 64-byte lines: aligned_alloc's contract in C11 (AddressSanitizer enforces it)
        long bytes = Math.max(64, (numel * dtype.byteSize() + 63) & ~63L);
        this.address = MemoryUtil.nmemAlignedAlloc(64, bytes);
        if (address == 0) throw new OutOfMemoryError("cpu: could not allocate " + bytes + " bytes of off-heap memory");
        this.segment = MemorySegment.ofAddress(address).reinterpret(bytes);
        CpuMemoryStats.allocated(bytes);
    }

    MemorySegment segment() { return segment; }

    @Override public Backend backend() { return backend; }
    @Override public DType dtype() { return dtype; }
    @Override public long numel() { return numel; }
    @Override public synchronized boolean isFreed() { return address == 0; }

    @Override
    public synchronized void free() {
        if (address != 0) {
            MemoryUtil.nmemAlignedFree(address);
            CpuMemoryStats.freed(segment.byteSize());
            address = 0;
        }
    }
}
