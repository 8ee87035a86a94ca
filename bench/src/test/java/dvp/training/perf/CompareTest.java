package dvp.training.perf;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class CompareTest {
    private static Results.Read file(String device, Results.ReadFigure... f) {
        return new Results.Read(Path.of("x.json"), "bench", device, "abc", "now", List.of(f));
    }

    private static Results.ReadFigure fig(String name, String unit, String better, double median, double spread) {
        return new Results.ReadFigure("s", name, unit, better, 5, median, spread);
    }

    @Test
    void ratiosAndVerdictsFollowEachFiguresDirection() {
        var a = file("cpu", fig("t", "ms", "lower", 100, 2), fig("tput", "img/s", "higher", 50, 1), fig("noisy", "ms", "lower", 10, 20),
                fig("gone", "ms", "lower", 1, 0), fig("u", "ms", "lower", 1, 0));
        var b = file("cpu", fig("t", "ms", "lower", 80, 2), fig("tput", "img/s", "higher", 40, 1), fig("noisy", "ms", "lower", 11, 5),
                fig("new", "GB/s", "higher", 3, 0), fig("u", "s", "lower", 1, 0));
        List<Compare.Row> rows = Compare.compare(a, b);
        assertEquals(6, rows.size());
        assertEquals(new Compare.Row("s / t", "ms", 100.0, 80.0, 0.8, "better 25.0%"), rows.get(0));
        assertEquals(new Compare.Row("s / tput", "img/s", 50.0, 40.0, 0.8, "worse 20.0%"), rows.get(1));
        assertEquals("within spread", rows.get(2).verdict());
        assertEquals("only in A", rows.get(3).verdict());
        assertNull(rows.get(3).b());
        assertEquals("units differ", rows.get(4).verdict());
        assertEquals("only in B", rows.get(5).verdict());
    }

    @Test
    void aRateDerivedFromATimeIsJudgedByTheTimesSpread() throws Exception {
        // a skewed time (an unwarmed small GEMM): the spread of 1/x is far smaller than x's, so the rate alone looked like a gain
        double[] a = {0.70, 0.71, 0.72, 3.5, 9.0}, b = {0.70, 0.70, 0.71, 0.72, 0.74};
        double flops = 2.0 * 256 * 256 * 256;
        java.util.function.Function<double[], double[]> gflops = ms -> java.util.Arrays.stream(ms).map(t -> flops / 1e9 / (t / 1e3)).toArray();
        var fa = List.of(Figure.of("g/time", "ms", Figure.LOWER, a, null), Figure.derived("g/compute", "GFLOP/s", gflops.apply(a), null, "g/time"));
        var fb = List.of(Figure.of("g/time", "ms", Figure.LOWER, b, null), Figure.derived("g/compute", "GFLOP/s", gflops.apply(b), null, "g/time"));
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("cmp");
        java.nio.file.Path pa = dir.resolve("a.json"), pb = dir.resolve("b.json");
        var env = RunEnvironment.of(dvp.engine.spi.Backends.cpu());
        Results.create("bench", env, List.of(new Results.ScenarioResult("gemm", java.util.Map.of(), java.util.Map.of(), fa, null)), null, List.of()).write(pa);
        Results.create("bench", env, List.of(new Results.ScenarioResult("gemm", java.util.Map.of(), java.util.Map.of(), fb, null)), null, List.of()).write(pb);
        List<Compare.Row> rows = Compare.compare(Results.read(pa), Results.read(pb));
        assertEquals("within spread", rows.get(0).verdict(), "the time: " + rows.get(0));
        assertEquals("within spread", rows.get(1).verdict(), "its GFLOP/s, the same measurement: " + rows.get(1));
        // a figure of its own (no derived_from) keeps its own spread
        var own = fig("x", "GFLOP/s", "higher", 100, 1);
        assertEquals("better 50.0%", Compare.compare(file("cpu", own), file("cpu", fig("x", "GFLOP/s", "higher", 150, 1))).getFirst().verdict());
    }
}
