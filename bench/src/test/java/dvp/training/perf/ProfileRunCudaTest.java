package dvp.training.perf;

import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU half of issue 9's "done when": on a CUDA device the profile's op times are device times
 * (events), the trace's device track holds every call with a positive duration and the metadata
 * says where device times come from, and per-op device times fit inside the device step time.
 * Skipped without a usable CUDA backend (the reason is in the skip message). UNVERIFIED: it has
 * not run on a GPU yet.
 */
class ProfileRunCudaTest {
    @Test
    void resnetAndMocoStepsOnTheGpuHaveDeviceTimesAndADeviceTrack(@TempDir Path dir) throws Exception {
        Backend cuda = Backends.all().stream().filter(b -> b.name().equals("cuda")).findFirst().orElse(null);
        assumeTrue(cuda != null, "no CUDA backend on the class path");
        assumeTrue(cuda.availability().available(), "CUDA unavailable: " + cuda.availability().reason());
        for (String scenario : new String[]{"resnet50-train", "moco-step"}) {
            var o = new ScenarioOptions(32, 112, null, null, 4096, null, null, 0);
            var s = new ProfileRun.Settings(scenario, o, 2, 3, true, 20, false, dir.resolve(scenario + ".trace.json"),
                    dir.resolve(scenario + ".json"), null, false, "test");
            ProfileRun.Outcome out = ProfileRun.run(cuda, s, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
            assertTrue(out.events().stream().allMatch(e -> e.deviceNanos() > 0), scenario + ": every call has a device time");
            assertTrue(out.table().coveragePct() > 0 && out.table().coveragePct() <= 100.5, scenario + ": coverage " + out.table().coveragePct());
            TraceCheck.Report r = TraceCheck.check(dir.resolve(scenario + ".trace.json"), true);
            assertTrue(r.ok(), r.toString());
            int deviceOps = r.deviceOps();
            assertEquals(out.events().size(), deviceOps, scenario + ": the device track holds every call");
        }
    }
}
