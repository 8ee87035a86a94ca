package dvp.engine.cuda;

import jcuda.driver.CUevent;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

/**
 * GPU time of a region of queued work, measured with two CUDA events on the stream (how the
 * benchmarks time device work: host clocks would measure only the launches). UNVERIFIED on a GPU.
 */
public final class CudaTimer implements AutoCloseable {
    private final CudaContext ctx;
    private final CUevent start = new CUevent(), stop = new CUevent();

    CudaTimer(CudaContext ctx) {
        this.ctx = ctx;
        ctx.makeCurrent();
        ctx.check(cuEventCreate(start, 0), "cuEventCreate");
        ctx.check(cuEventCreate(stop, 0), "cuEventCreate");
    }

    public void start() { ctx.check(cuEventRecord(start, ctx.stream), "cuEventRecord"); }

    public void stop() { ctx.check(cuEventRecord(stop, ctx.stream), "cuEventRecord"); }

    /** Milliseconds between start() and stop(); waits for stop to be reached. */
    public float elapsedMs() {
        ctx.check(cuEventSynchronize(stop), "cuEventSynchronize");
        float[] ms = new float[1];
        ctx.check(cuEventElapsedTime(ms, start, stop), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        cuEventDestroy(start);
        cuEventDestroy(stop);
    }
}
