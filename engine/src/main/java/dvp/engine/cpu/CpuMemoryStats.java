package dvp.engine.cpu;

import java.util.concurrent.atomic.AtomicLong;

/** Live and peak bytes of CPU tensor storage (leak tests and the profiler read these). */
public final class CpuMemoryStats {
    private static final AtomicLong live = new AtomicLong();
    private static final AtomicLong peak = new AtomicLong();
    private static final AtomicLong count = new AtomicLong();

    private CpuMemoryStats() {}

    static void allocated(long bytes) {
        long now = live.addAndGet(bytes);
        count.incrementAndGet();
        peak.accumulateAndGet(now, Math::max);
    }

    static void freed(long bytes) {
        live.addAndGet(-bytes);
        count.decrementAndGet();
    }

    public static long liveBytes() { return live.get(); }

    public static long liveStorages() { return count.get(); }

    public static long peakBytes() { return peak.get(); }

    public static void resetPeak() { peak.set(live.get()); }
}
