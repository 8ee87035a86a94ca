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
 * group that logged it (train and val loss share a chart), x = step. Every axis says its unit; the
 * learning rate is drawn on a log axis (a step schedule's 5e-4 and 5e-5 would both sit on zero);
 * groups logged at exactly the same steps (train rows of a run that logs once per epoch, and the
 * epoch means) are one line, not one hiding the other; the epoch counter is not plotted (against
 * the step it is a diagonal). Drawn headless (no display needed). Non-finite points are left out.
 * Plotting is a convenience: when AWT cannot draw here (no fonts installed, say) {@link #write}
 * reports why instead of failing the run.
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

    /** Metrics that are bookkeeping, not curves. */
    private static final java.util.Set<String> NOT_PLOTTED = java.util.Set.of("epoch");

    /** The y axis of a metric: what it is and its unit. */
    static String yAxisTitle(String metric) {
        return switch (metric) {
            case "loss", "ce" -> metric + " (nats per image)";
            case "distill" -> "distill (λ-weighted squared feature distance per image)";
            case "acc" -> "acc (fraction of the batch, 0 to 1)";
            case "lr" -> "learning rate (log scale)";
            case "img_per_s" -> "throughput (images per second)";
            case "data_wait" -> "data wait (fraction of step time, 0 to 1)";
            default -> metric.startsWith("val_top") || metric.startsWith("test_top") ? metric + " (fraction of images, 0 to 1)" : metric + " (value)";
        };
    }

    static XYChart chart(String name, Map<String, List<MetricHistory.Point>> groups) {
        if (NOT_PLOTTED.contains(name)) return null;
        Map<String, List<MetricHistory.Point>> lines = new java.util.LinkedHashMap<>();
        for (var g : groups.entrySet()) {
            List<MetricHistory.Point> pts = g.getValue().stream().filter(p -> Double.isFinite(p.value())).toList();
            if (pts.isEmpty()) continue;
            // a group at the same steps as one already drawn summarises the same steps: one line, named for both
            String same = lines.entrySet().stream().filter(l -> steps(l.getValue()).equals(steps(pts))).map(Map.Entry::getKey).findFirst().orElse(null);
            if (same != null) {
                lines.remove(same);
                lines.put(same + " = " + g.getKey(), pts);
            } else {
                lines.put(g.getKey(), pts);
            }
        }
        if (lines.isEmpty()) return null;
        boolean log = name.equals("lr") && lines.values().stream().flatMap(List::stream).allMatch(p -> p.value() > 0);
        XYChart chart = new XYChartBuilder().width(800).height(500).title(name).xAxisTitle("step (optimizer steps)")
                .yAxisTitle(log || !name.equals("lr") ? yAxisTitle(name) : "learning rate").build();
        chart.getStyler().setLegendVisible(lines.size() > 1 || lines.keySet().iterator().next().contains(" = "));
        chart.getStyler().setYAxisLogarithmic(log);
        if (!log) chart.getStyler().setYAxisDecimalPattern("#,##0.####"); // XChart's own prints up to 15 digits on a short range
        if (log) {
            // a log axis is labelled at powers of ten only: widen it to the enclosing ones, so at least two are labelled
            var values = lines.values().stream().flatMap(List::stream).mapToDouble(MetricHistory.Point::value).summaryStatistics();
            chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(values.getMin()))));
            chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(values.getMax()) + 1e-12)));
        }
        for (var l : lines.entrySet()) {
            List<MetricHistory.Point> pts = l.getValue();
            double[] x = new double[pts.size()], y = new double[pts.size()];
            for (int i = 0; i < pts.size(); i++) {
                x[i] = pts.get(i).step();
                y[i] = pts.get(i).value();
            }
            XYSeries s = chart.addSeries(l.getKey(), x, y);
            s.setMarker(pts.size() > 50 ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    private static List<Long> steps(List<MetricHistory.Point> pts) { return pts.stream().map(MetricHistory.Point::step).toList(); }
}
