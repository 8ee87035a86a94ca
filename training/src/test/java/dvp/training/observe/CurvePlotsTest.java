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
}
