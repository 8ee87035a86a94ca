package dvp.training.perf;

import dvp.engine.profile.DeviceClock;
import dvp.engine.profile.DeviceClockSource;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;

/**
 * Times one run of some work the way benchmarks must: on a device backend with device markers
 * around it (then one synchronisation), elsewhere with the host clock followed by {@code
 * synchronize} (a no-op on the CPU, where the work is done when the call returns).
 */
public interface WorkTimer extends AutoCloseable {
    /** Nanoseconds the work took. */
    double nanos(Runnable work);

    /** Whether times come from device markers ("device") or the host clock ("host"). */
    String clock();

    @Override
    default void close() {}

    static WorkTimer of(Backend backend) {
        Backend be = backend instanceof ProfilingBackend p ? p.inner() : backend;
        if (be instanceof DeviceClockSource src) {
            DeviceClock c = src.openDeviceClock();
            return new WorkTimer() {
                @Override
                public double nanos(Runnable work) {
                    int a = c.mark();
                    work.run();
                    int b = c.mark();
                    be.synchronize();
                    double ns = c.nanosBetween(a, b);
                    c.reset();
                    return ns;
                }

                @Override public String clock() { return "device"; }

                @Override public void close() { c.close(); }
            };
        }
        return new WorkTimer() {
            @Override
            public double nanos(Runnable work) {
                long t0 = System.nanoTime();
                work.run();
                be.synchronize();
                return System.nanoTime() - t0;
            }

            @Override public String clock() { return "host"; }
        };
    }
}
