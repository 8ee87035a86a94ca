package dvp.engine.cuda.ffm;

import dvp.engine.cuda.CudaException;

/** A cuBLAS or cuDNN call returned an error status; names the call, the status and the dvp op. */
public final class LibraryCallException extends CudaException {
    public LibraryCallException(String library, String call, int status, String statusText, String context) {
        super(library + " call " + call + " failed: " + statusText + " (status " + status + ")" + context, call, status);
    }
}
