package dvp.training.perf;

import dvp.training.run.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bar chart of {@code dvp bench report}: one group of bars per scenario, one bar per series,
 * height = the series' speed relative to the reference series (geometric mean over the scenario's
 * workloads; the reference is 1). A series without a number for a scenario has no bar there.
 * Drawn headless; when AWT cannot draw (no fontconfig or fonts) the reason is returned instead.
 * The texts (title, legend) are the caller's: {@link BenchReport} puts "simulated, not a speed" in
 * them for simulated series.
 */
final class BenchChart {
    private BenchChart() {}

    /** The chart's texts as drawn (title, y-axis title, then the legend's series names), and why no PNG was written (null if one was). */
    record Drawn(List<String> labels, String problem) {}

    /** Writes png (bars in seriesOrder). */
    static Drawn write(Map<String, Map<String, Double>> speeds, List<String> seriesOrder, String reference, String title, Path png) {
        if (speeds.isEmpty())
            return new Drawn(List.of(), "chart: no scenario has a number in both a series and the reference " + reference + ": nothing to draw");
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        List<String> labels = new ArrayList<>();
        try {
            List<String> scenarios = new ArrayList<>(speeds.keySet());
            Set<String> series = new LinkedHashSet<>();
            speeds.values().forEach(m -> series.addAll(m.keySet()));
            series.retainAll(seriesOrder);
            List<String> ordered = seriesOrder.stream().filter(series::contains).toList();
            CategoryChart chart = new CategoryChartBuilder().width(Math.max(900, 140 * scenarios.size())).height(560).title(title)
                    .xAxisTitle("scenario").yAxisTitle("speed relative to " + reference + " (higher is faster)").build();
            chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
            chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
            chart.getStyler().setLabelsVisible(true);
            chart.getStyler().setDecimalPattern("0.00");
            chart.getStyler().setYAxisMin(0.0);
            chart.getStyler().setXAxisLabelRotation(20);
            for (String s : ordered) {
                List<Double> y = new ArrayList<>();
                for (String sc : scenarios) y.add(speeds.get(sc).get(s)); // null: no bar
                chart.addSeries(s, scenarios, y);
            }
            labels.add(chart.getTitle());
            labels.add(chart.getYAxisTitle());
            for (var drawn : chart.getSeriesCollection()) labels.add(drawn.getName());
            AtomicFiles.write(png, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
            return new Drawn(labels, null);
        } catch (IOException | RuntimeException | LinkageError | InternalError e) {
            // InternalError/UnsatisfiedLinkError: AWT's font or graphics libraries are missing
            return new Drawn(labels, "chart: could not draw " + png + ": " + e + " (headless AWT needs fontconfig and a font; chart.csv has the numbers)");
        }
    }
}
