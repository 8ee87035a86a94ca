package dvp.engine.profile;

/**
 * Timestamps taken on a device's work queue, for backends whose primitives run asynchronously
 * (CUDA: one event per marker, recorded on the backend's stream). The profiler brackets every
 * primitive with two markers and, at the end of each step (after {@link
 * dvp.engine.spi.Backend#synchronize}), turns them into device times with {@link #nanosBetween}.
 * Host clocks cannot do this on a GPU: a launch returns long before the kernel has run.
 *
 * <p>Contract: {@link #mark} never waits for the device and is cheap (a CUDA event record);
 * handles stay valid until {@link #reset}; {@link #nanosBetween} may wait for {@code b} to be
 * reached. One clock is used by one profiler from the thread that dispatches primitives.
 *
 * <p>A CUDA implementation (events created with default flags, pooled, recorded with
 * {@code cuEventRecord} on the backend's stream, read with {@code cuEventElapsedTime} ×10⁶) is the
 * CUDA backend's to provide through {@link DeviceClockSource}; the profiler's use of it is
 * exercised on the CPU with a synthetic clock, and is UNVERIFIED on a GPU.
 */
public interface DeviceClock extends AutoCloseable {
    /** Enqueues a marker after all work queued so far; returns its handle (never waits). */
    int mark();

    /** Device nanoseconds from marker {@code a} to marker {@code b} (b after a); may wait for b. */
    double nanosBetween(int a, int b);

    /** Forgets every marker (their resources return to a pool); handles given before are invalid. */
    void reset();

    /** Releases the markers' resources. */
    @Override
    void close();
}
