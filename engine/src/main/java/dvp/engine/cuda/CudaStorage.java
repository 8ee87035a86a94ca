package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.spi.Backend;
import dvp.engine.spi.PoolSpec;
import dvp.engine.spi.Storage;

/**
 * Device memory of one tensor: a block of the caching allocator. Freeing returns the block to the
 * cache immediately; work already queued on the stream that reads it still runs before any later
 * work that reuses it (single stream).
 */
final class CudaStorage implements Storage {
    private final CudaBackend backend;
    private final CachingAllocator allocator;
    private final DType dtype;
    private final long numel;
    private CachingAllocator.Block block;
    /** The max-pool geometry when this storage holds argmax indices written by maxPool2dForward. */
    PoolSpec poolSpec;
    /** The batch-norm epsilon when this storage holds saveInvStd written by batchNormTrainForward (NaN: none). */
    float bnEps = Float.NaN;

    CudaStorage(CudaBackend backend, CachingAllocator allocator, DType dtype, long numel) {
        this.backend = backend;
        this.allocator = allocator;
        this.dtype = dtype;
        this.numel = numel;
        this.block = allocator.allocate(Math.max(1, numel * dtype.byteSize()), dtype + "[" + numel + "]");
    }

    long address() { return block.address; }

    @Override public Backend backend() { return backend; }
    @Override public DType dtype() { return dtype; }
    @Override public long numel() { return numel; }
    @Override public synchronized boolean isFreed() { return block == null; }

    @Override
    public synchronized void free() {
        if (block != null) {
            allocator.free(block);
            block = null;
        }
    }
}
