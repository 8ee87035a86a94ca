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
}
