package dvp.engine.cuda;

import jcuda.driver.CUstream;

/** JCuda↔FFM bridge: a CUstream whose raw handle can be handed to cublasSetStream / cudnnSetStream. */
final class StreamHandle extends CUstream {
    long address() { return getNativePointer(); }
}
