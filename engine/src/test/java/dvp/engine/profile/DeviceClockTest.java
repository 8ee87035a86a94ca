package dvp.engine.profile;

import dvp.engine.Scope;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device-timing path of the profiler, driven by a synthetic {@link DeviceClock} on a CPU
 * backend that claims to be asynchronous: device times must come from the clock's markers (here:
 * host nanoseconds × 3, so they are told apart from host times), be resolved at the end of each
 * step after one synchronisation, and land on the device track of the trace.
 */
class DeviceClockTest {
    static final class FakeClock implements DeviceClock {
        final List<Long> marks = new ArrayList<>();
        int resets;
        boolean closed;

        @Override public int mark() { marks.add(System.nanoTime() * 3); return marks.size() - 1; }

        @Override public double nanosBetween(int a, int b) { return marks.get(b) - marks.get(a); }

        @Override public void reset() { marks.clear(); resets++; }

        @Override public void close() { closed = true; }
    }

    /** The CPU backend, plus DeviceClockSource, plus a count of synchronize() calls. */
    static Backend clocked(FakeClock clock, int[] syncs) {
        Backend cpu = Backends.cpu();
        return (Backend) Proxy.newProxyInstance(DeviceClockTest.class.getClassLoader(), new Class<?>[]{Backend.class, DeviceClockSource.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("openDeviceClock")) return clock;
                    if (m.getName().equals("synchronize")) syncs[0]++;
                    try {
                        return m.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void deviceTimesComeFromTheClockAndAreResolvedAtStepEnd() throws Exception {
        FakeClock clock = new FakeClock();
        int[] syncs = {0};
        ProfilingBackend pb = ProfilingBackend.wrap(clocked(clock, syncs));
        try (Scope s = Scope.open(); var use = Backends.use(pb)) {
            MiniNet net = new MiniNet(pb, 3);
            Profiler p = pb.start(Profiler.Options.record());
            assertTrue(p.hasDeviceClock());
            int syncsAtStart = syncs[0];
            p.stepBegin(0);
            net.step();
            p.stepEnd();
            assertTrue(syncs[0] > syncsAtStart, "stepEnd synchronises before reading markers");
            assertTrue(clock.resets >= 1, "markers are recycled after each step");
            List<OpEvent> ev = p.events();
            assertTrue(ev.size() > 20);
            for (OpEvent e : ev) {
                // markers bracket the host interval and run 3x faster: the device duration is at least 3x the host one
                assertTrue(e.deviceNanos() >= 3 * e.hostNanos(), e + ": device " + e.deviceNanos() + " ns vs host " + e.hostNanos());
                assertTrue(e.deviceStartNs() >= p.originNs() - 1e9, "device time placed on the host timeline");
            }
            Span step = p.steps().getFirst();
            assertTrue(step.deviceNanos() >= 3 * step.hostNanos() - 1, "step device time from its markers");
            String trace = ChromeTrace.render(p, null);
            assertTrue(trace.contains("device markers"), "the trace says where device times come from");
            p.close();
            assertTrue(clock.closed);
        }
    }
}
