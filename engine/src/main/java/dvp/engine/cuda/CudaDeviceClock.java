package dvp.engine.cuda;

import dvp.engine.profile.DeviceClock;
import jcuda.driver.CUevent;

import java.util.ArrayList;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

/**
 * The profiler's device clock on the CUDA stream: a marker is a CUDA event (default flags, so it
 * carries a timestamp) recorded after the work queued so far; events are pooled and reused after
 * {@link #reset()}. UNVERIFIED on a GPU.
 */
final class CudaDeviceClock implements DeviceClock {
    private final CudaContext ctx;
    private final List<CUevent> events = new ArrayList<>();
    private int used;

    CudaDeviceClock(CudaContext ctx) { this.ctx = ctx; }

    @Override
    public int mark() {
        ctx.makeCurrent();
        if (used == events.size()) {
            CUevent e = new CUevent();
            ctx.check(cuEventCreate(e, 0), "cuEventCreate");
            events.add(e);
        }
        ctx.check(cuEventRecord(events.get(used), ctx.stream), "cuEventRecord");
        return used++;
    }

    @Override
    public double nanosBetween(int a, int b) {
        if (a < 0 || b < 0 || a >= used || b >= used) throw new IllegalArgumentException("device clock: unknown marker " + a + " or " + b);
        ctx.check(cuEventSynchronize(events.get(b)), "cuEventSynchronize");
        float[] ms = new float[1];
        ctx.check(cuEventElapsedTime(ms, events.get(a), events.get(b)), "cuEventElapsedTime");
        return ms[0] * 1e6;
    }

    @Override
    public void reset() { used = 0; }

    @Override
    public void close() {
        for (CUevent e : events) cuEventDestroy(e);
        events.clear();
        used = 0;
    }
}
