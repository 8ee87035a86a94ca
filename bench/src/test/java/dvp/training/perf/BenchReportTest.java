package dvp.training.perf;

import dvp.engine.spi.Backends;
import dvp.training.run.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** dvp bench report on small hand-made results files: the table's numbers, the chart's numbers, the PNG. */
class BenchReportTest {
    private static Results.ScenarioResult scenario(String name, Map<String, Object> settings, Figure... f) {
        return new Results.ScenarioResult(name, settings, Map.of("command", "test"), List.of(f), null);
    }

    private static Figure ms(String name, double... v) { return Figure.of(name + "/time", "ms", Figure.LOWER, v, "test"); }

    private static Figure ips(String name, double... v) { return Figure.of(name + "/throughput", "img/s", Figure.HIGHER, v, "test"); }

    private static Path write(Path dir, String file, Results.ScenarioResult... s) throws Exception {
        Path p = dir.resolve(file);
        Results.create("bench", RunEnvironment.of(Backends.cpu()), List.of(s), null, List.of()).write(p);
        return p;
    }

    @Test
    void tableRatiosGeomeansChartAndProblems(@TempDir Path dir) throws Exception {
        Map<String, Object> b8 = new LinkedHashMap<>(Map.of("batch", 8)), b16 = new LinkedHashMap<>(Map.of("batch", 16));
        // ours: two files in a folder (as compare.sh writes one per scenario)
        Files.createDirectories(dir.resolve("ours"));
        write(dir.resolve("ours"), "a.json", scenario("resnet50-train", b8, ms("train_step", 100, 100, 100), ips("train_step", 80, 80, 80),
                Figure.single("peak_memory", "MiB", Figure.LOWER, 900, "t")));
        write(dir.resolve("ours"), "b.json", scenario("conv", b8, ms("conv2d_forward x", 2, 2, 2), ms("conv2d_forward y", 8, 8, 8)));
        Path torch = write(dir, "torch.json", scenario("resnet50-train", b16, ms("train_step", 200, 200, 200), ips("train_step", 40, 40, 40),
                        Figure.single("peak_memory", "MiB", Figure.LOWER, 1800, "t")),
                scenario("conv", b8, ms("conv2d_forward x", 4, 4, 4), ms("conv2d_forward y", 4, 4, 4)));
        Path amp = write(dir, "amp.json", scenario("resnet50-train", b8, ms("train_step", 50, 50, 50), ips("train_step", 160, 160, 160)));
        var series = List.of(BenchReport.Series.parse("dvp fp32=" + dir.resolve("ours"), true),
                BenchReport.Series.parse("torch fp32=" + torch, false),
                BenchReport.Series.parse("torch amp=" + amp + "," + dir.resolve("missing.json"), false));
        StringWriter log = new StringWriter();
        BenchReport.Report r = BenchReport.write(series, dir.resolve("out"), "test report", List.of("our bf16 mode: not implemented yet"),
                new PrintWriter(log, true));

        // rows: throughput is the headline of the training step, time of the conv workloads, then peak memory
        assertEquals(List.of("resnet50-train/train_step/throughput", "conv/conv2d_forward x/time", "conv/conv2d_forward y/time",
                "resnet50-train/peak_memory"), r.rows().stream().map(x -> x.scenario() + "/" + x.figure()).toList());
        // chart: speed relative to the first baseline; conv is the geometric mean of 2x and 0.5x = 1
        assertEquals(2.0, r.chart().get("resnet50-train").get("dvp fp32"), 1e-12);
        assertEquals(1.0, r.chart().get("resnet50-train").get("torch fp32"), 1e-12);
        assertEquals(4.0, r.chart().get("resnet50-train").get("torch amp"), 1e-12);
        assertEquals(1.0, r.chart().get("conv").get("dvp fp32"), 1e-12);
        assertTrue(!r.chart().get("conv").containsKey("torch amp"), "no conv numbers in the amp series: no bar");

        String md = Files.readString(r.table());
        assertTrue(md.startsWith("# test report\n"), md);
        assertTrue(md.contains("- our bf16 mode: not implemented yet"), md);
        assertTrue(md.contains("| resnet50-train | train_step/throughput | img/s | 80.0 ±0.0% | 40.0 ±0.0% | 160 ±0.0% | 2.00× | 0.50× |"), md);
        assertTrue(md.contains("| conv | conv2d_forward x/time | ms | 2.00 ±0.0% | 4.00 ±0.0% | - | 2.00× | - |"), md);
        assertTrue(md.contains("| resnet50-train | peak_memory | MiB | 900 ±0.0% | 1800 ±0.0% | - | 2.00× | - |"), md);
        assertTrue(md.contains("| conv | 1.00 | 1.00 | - |"), md);
        assertTrue(md.contains("settings differ: resnet50-train: batch = 16 in torch fp32, 8 in dvp fp32"), md);
        assertTrue(md.contains("torch amp: no results file " + dir.resolve("missing.json")), md);

        String csv = Files.readString(dir.resolve("out/chart.csv"));
        assertTrue(csv.startsWith("scenario,series,speed_relative_to_torch fp32\nresnet50-train,dvp fp32,2.00000\n"), csv);
        assertNotNull(r.png(), "chart drawn: " + r.problems());
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(r.png()), 8);
        assertArrayEquals(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, head);
        assertTrue(log.toString().contains("report: torch amp: no results file"), log.toString());
    }

    @Test
    void badSeriesSpecsAndMissingSidesAreErrors(@TempDir Path dir) {
        assertThrows(BadInputException.class, () -> BenchReport.Series.parse("no-equals-sign", true));
        assertThrows(BadInputException.class, () -> BenchReport.Series.parse("label=", true));
        var onlyOurs = List.of(BenchReport.Series.parse("a=x.json", true));
        assertThrows(BadInputException.class, () -> BenchReport.write(onlyOurs, dir, "t", List.of(), new PrintWriter(new StringWriter())));
    }
}
