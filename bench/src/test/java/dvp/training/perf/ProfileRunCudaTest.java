package dvp.training.perf;

import dvp.engine.spi.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU half of issue 9's "done when": on a CUDA device the profile's op times are device times
 * (events), the trace's device track holds every call with a positive duration and the metadata
 * says where device times come from, and per-op device times fit inside the device step time.
 * Runs on the CUDA simulator in the test JVMs (DVP_CUDA_SIM=1), with ResNet-18s at width 1/4, 32 px,
 * batch 2 (a ResNet-50 step takes ~20 s there): that proves the event plumbing (every op bracketed,
 * every marker read back, the device track complete). The simulator's event times are its wall
 * clock (not a measurement), so an op quicker than the timer's resolution may read 0 there; on a
 * real GPU (-Ddvp.test.cudaSim=0) every device time must be positive.
 */
class ProfileRunCudaTest {
    @Test
    void resnetAndMocoStepsOnTheGpuHaveDeviceTimesAndADeviceTrack(@TempDir Path dir) throws Exception {
        Backend cuda = PerfTesting.cuda();
        boolean simulated = cuda.simulated();
        for (String scenario : new String[]{"resnet18-train", "moco-step"}) {
            var o = new ScenarioOptions(2, 32, 0.25, "resnet18", 64, null, 10, 0);
            // one warm-up pair on the first (the recording path's warm-up recycles device markers), none on the second
            var s = new ProfileRun.Settings(scenario, o, scenario.equals("moco-step") ? 0 : 1, 1, true, 20, false, dir.resolve(scenario + ".trace.json"),
                    dir.resolve(scenario + ".json"), null, false, "test");
            ProfileRun.Outcome out = ProfileRun.run(cuda, s, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
            assertTrue(out.events().size() > 100, scenario + ": " + out.events().size() + " calls");
            assertTrue(out.events().stream().allMatch(e -> simulated ? e.deviceNanos() >= 0 : e.deviceNanos() > 0),
                    scenario + ": every call has a device time");
            assertTrue(out.events().stream().anyMatch(e -> e.deviceNanos() > 0), scenario + ": device times were read back");
            assertTrue(out.table().coveragePct() > 0 && out.table().coveragePct() <= 100.5, scenario + ": coverage " + out.table().coveragePct());
            TraceCheck.Report r = TraceCheck.check(dir.resolve(scenario + ".trace.json"), !simulated);
            assertTrue(r.ok(), r.toString());
            String clock = dvp.training.run.Json.readFile(dir.resolve(scenario + ".trace.json")).path("otherData").path("device_clock").asText();
            assertTrue(clock.startsWith("device markers"), scenario + ": device times from device markers, not " + clock);
            assertEquals(out.events().size(), r.deviceOps(), scenario + ": the device track holds every call");
        }
    }
}
