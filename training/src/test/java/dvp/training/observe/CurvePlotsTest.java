package dvp.training.observe;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CurvePlotsTest {
    @TempDir
    Path dir;

    @Test
    void drawsOnePngPerMetricWithAllGroups() throws IOException {
        MetricHistory h = new MetricHistory();
        for (int s = 1; s <= 100; s++) {
            var v = new LinkedHashMap<String, Double>();
            v.put("loss", 5.0 / s);
            v.put("lr", s == 50 ? Double.NaN : 0.1);
            h.write(new MetricRow("train", s, 0, v));
        }
        var val = new LinkedHashMap<String, Double>();
        val.put("loss", 0.5);
        h.write(new MetricRow("val", 100, 0, val));
        var allNaN = new LinkedHashMap<String, Double>();
        allNaN.put("broken", Double.NaN);
        h.write(new MetricRow("train", 1, 0, allNaN));

        CurvePlots.Result r = CurvePlots.write(h, dir);
        Assumptions.assumeTrue(r.problem() == null || !r.problem().contains("font"), "AWT cannot draw here: " + r.problem());
        assertNull(r.problem());
        assertEquals(java.util.List.of(dir.resolve("loss.png"), dir.resolve("lr.png")), r.written()); // nothing for all-NaN
        BufferedImage img = ImageIO.read(dir.resolve("loss.png").toFile());
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());
        // something was drawn: the picture is not one flat colour
        int first = img.getRGB(0, 0);
        boolean varied = false;
        for (int y = 0; y < img.getHeight() && !varied; y += 7)
            for (int x = 0; x < img.getWidth() && !varied; x += 7) varied = img.getRGB(x, y) != first;
        assertNotEquals(false, varied);
    }

    private static MetricRow row(String group, long step, String name, double value) {
        var v = new LinkedHashMap<String, Double>();
        v.put(name, value);
        v.put("epoch", (double) (step / 8));
        return new MetricRow(group, step, 0, v);
    }

    @Test
    void everyAxisHasAUnitLrIsLogarithmicSameStepsAreOneLineAndTheEpochCounterIsNotPlotted() {
        MetricHistory h = new MetricHistory();
        for (int e = 1; e <= 12; e++) {
            // one train row per epoch (log-every >= steps per epoch): the train and epoch rows share their steps
            h.write(row("train", 8L * e, "loss", 2.0 / e));
            h.write(row("epoch", 8L * e, "loss", 2.0 / e + 1e-3));
            h.write(row("train", 8L * e, "lr", e <= 4 ? 5e-3 : e <= 8 ? 5e-4 : 5e-5));
            h.write(row("train", 8L * e, "data_wait", 0.01));
            h.write(row("val", 8L * e, "val_top1", 0.1 * e / 2));
        }
        var curves = h.curves();
        assertNull(CurvePlots.chart("epoch", curves.get("epoch")), "epoch against step is a diagonal: no epoch.png");
        var loss = CurvePlots.chart("loss", curves.get("loss"));
        assertEquals(java.util.List.of("train = epoch"), loss.getSeriesCollection().stream().map(s -> s.getName()).toList(), "one line, named for both");
        assertEquals("loss (nats per image)", loss.getYAxisTitle());
        assertEquals("step (optimizer steps)", loss.getXAxisTitle());
        var lr = CurvePlots.chart("lr", curves.get("lr"));
        assertTrue(lr.getStyler().isYAxisLogarithmic(), "5e-4 and 5e-5 apart, not both on zero");
        assertEquals("learning rate (log scale)", lr.getYAxisTitle());
        assertEquals("data wait (fraction of step time, 0 to 1)", CurvePlots.chart("data_wait", curves.get("data_wait")).getYAxisTitle());
        assertEquals("val_top1 (fraction of images, 0 to 1)", CurvePlots.chart("val_top1", curves.get("val_top1")).getYAxisTitle());
        for (String m : curves.keySet()) {
            var c = CurvePlots.chart(m, curves.get(m));
            if (c != null) assertTrue(c.getYAxisTitle().matches(".+ \\(.+\\)"), "a unit on " + m + ": " + c.getYAxisTitle());
        }
        CurvePlots.Result r = CurvePlots.write(h, dir.resolve("units"));
        Assumptions.assumeTrue(r.problem() == null || !r.problem().contains("font"), "AWT cannot draw here: " + r.problem());
        assertEquals(java.util.List.of("loss.png", "lr.png", "data_wait.png", "val_top1.png"),
                r.written().stream().map(p -> p.getFileName().toString()).toList());
    }
}
