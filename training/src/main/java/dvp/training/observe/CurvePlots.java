package dvp.training.observe;

import dvp.training.run.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * PNG curves at the end of a run: one chart per metric name ({@code plots/<name>.png}), one line per
 * group that logged it (train and val loss share a chart), x = step. Drawn headless (no display
 * needed). Non-finite points are left out. Plotting is a convenience: when AWT cannot draw here
 * (no fonts installed, say) {@link #write} reports why instead of failing the run.
 */
public final class CurvePlots {
    private CurvePlots() {}

    /** What was written and, if drawing failed, why. */
    public record Result(List<Path> written, String problem) {}

    public static Result write(MetricHistory history, Path dir) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        List<Path> written = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            for (var metric : history.curves().entrySet()) {
                XYChart chart = chart(metric.getKey(), metric.getValue());
                if (chart == null) continue;
                Path file = dir.resolve(metric.getKey().replace('/', '_') + ".png");
                AtomicFiles.write(file, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
                written.add(file);
            }
            return new Result(written, null);
        } catch (IOException | RuntimeException | LinkageError | InternalError e) {
            // InternalError/UnsatisfiedLinkError: AWT's font or graphics libraries are missing
            return new Result(written, "could not draw plots in " + dir + ": " + e
                    + " (headless AWT needs fontconfig and a font, e.g. apt-get install fontconfig fonts-dejavu-core)");
        }
    }

    private static XYChart chart(String name, Map<String, List<MetricHistory.Point>> groups) {
        XYChart chart = null;
        for (var g : groups.entrySet()) {
            List<MetricHistory.Point> pts = g.getValue().stream().filter(p -> Double.isFinite(p.value())).toList();
            if (pts.isEmpty()) continue;
            if (chart == null) {
                chart = new XYChartBuilder().width(800).height(500).title(name).xAxisTitle("step").yAxisTitle(name).build();
                chart.getStyler().setLegendVisible(groups.size() > 1);
            }
            double[] x = new double[pts.size()], y = new double[pts.size()];
            for (int i = 0; i < pts.size(); i++) {
                x[i] = pts.get(i).step();
                y[i] = pts.get(i).value();
            }
            XYSeries s = chart.addSeries(g.getKey(), x, y);
            s.setMarker(pts.size() > 50 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        }
        return chart;
    }
}
