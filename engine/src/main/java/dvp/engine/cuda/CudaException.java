package dvp.engine.cuda;

/**
 * A CUDA driver, cuBLAS or cuDNN call failed. The message names the call, the result code, and the
 * dvp op and kernel that were running, so a failure in a long training step points at its source.
 */
public class CudaException extends RuntimeException {
    private final String call;
    private final int code;

    public CudaException(String message, String call, int code) {
        super(message);
        this.call = call;
        this.code = code;
    }

    /** The library function that failed ("cuLaunchKernel", "cudnnConvolutionForward", ...). */
    public String call() { return call; }

    /** The CUresult / cublasStatus_t / cudnnStatus_t value. */
    public int code() { return code; }
}
