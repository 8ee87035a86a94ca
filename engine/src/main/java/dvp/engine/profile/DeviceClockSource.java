package dvp.engine.profile;

/**
 * Implemented by a {@link dvp.engine.spi.Backend} whose primitives run asynchronously to the host
 * (the CUDA backend), so the profiler can time them on the device. A backend without it is taken
 * to execute each primitive before returning (the CPU backend): its host times are its device
 * times, and the profiler says so in its output.
 */
public interface DeviceClockSource {
    /** A new clock on the queue this backend's primitives run on; the caller closes it. */
    DeviceClock openDeviceClock();
}
