package dvp.engine.cuda;

import jcuda.driver.CUresult;

/** Turns a CUresult into a {@link CudaException} whose message names the call, op and kernel. */
final class CudaErrors {
    static final int OUT_OF_MEMORY = 2;
    static final int NO_BINARY_FOR_GPU = 209;
    static final int UNSUPPORTED_PTX_VERSION = 222;
    static final int ILLEGAL_ADDRESS = 700;

    private CudaErrors() {}

    static CudaException error(int code, String call, String op, String kernel, String detail) {
        return error(code, call, op, kernel, detail, false);
    }

    /**
     * @param syncEachOp whether every op is synchronised (DVP_CUDA_SYNC=1): then a fault reported at
     *                   an op's synchronisation was caused by that op (or the graph it replayed)
     */
    static CudaException error(int code, String call, String op, String kernel, String detail, boolean syncEachOp) {
        String name;
        try {
            name = CUresult.stringFor(code);
        } catch (RuntimeException e) {
            name = "CUresult " + code;
        }
        StringBuilder m = new StringBuilder("CUDA error ").append(name).append(" (").append(code).append(") in ").append(call)
                .append(" (op ").append(op).append(", kernel ").append(kernel).append(')');
        if (detail != null) m.append(": ").append(detail);
        String sim = CudaSimulator.lastDiagnostic();
        if (!sim.isEmpty()) m.append(". The CUDA simulator's last report: ").append(sim);
        if (code == ILLEGAL_ADDRESS || code == 719 /* LAUNCH_FAILED */ || code == 710 /* ASSERT */)
            m.append(syncEachOp ? ". Every op is synchronised (DVP_CUDA_SYNC=1): the fault comes from this op"
                    : ". Kernels run asynchronously: the fault may come from an earlier op; rerun with -Ddvp.cuda.sync=true "
                    + "(DVP_CUDA_SYNC=1) to stop at the op that causes it");
        return new CudaException(m.toString(), call, code);
    }
}
