package dvp.engine.cpu;

import dvp.engine.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fused losses give the same bits whatever the thread count (the Backend contract for
 * reductions): the thread pool is sized once per JVM, so each count runs in its own child JVM.
 */
class LossThreadCountDeterminismTest {
    private static String runWithThreads(int threads) throws Exception {
        String out = ChildJvm.output("-Ddvp.threads=" + threads, LossBitsMain.class);
        List<String> lines = out.lines().filter(l -> l.startsWith("ofd ")).toList();
        assertEquals(1, lines.size(), "unexpected child output:\n" + out);
        return lines.getFirst();
    }

    @Test void sameBitsWithOneThreeAndTheDefaultNumberOfThreads() throws Exception {
        String here = LossBitsMain.bits();
        assertEquals(here, runWithThreads(1), "1 thread vs " + Parallel.threads());
        assertEquals(here, runWithThreads(3), "3 threads vs " + Parallel.threads());
    }
}
