package dvp.engine.cuda;

/**
 * The caching allocator could not get device memory even after releasing its cache. The message
 * reads like PyTorch's: how much was requested, the card's capacity and free memory, and how much
 * dvp has allocated and reserved.
 */
public final class CudaOutOfMemoryException extends CudaException {
    public CudaOutOfMemoryException(String message) {
        super(message, "cuMemAlloc", 2 /* CUDA_ERROR_OUT_OF_MEMORY */);
    }
}
