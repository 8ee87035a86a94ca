package dvp.training.study;

import dvp.training.run.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * results.png: test top-1 per Table 1 row, for dvp (and the twin, shifted right): the mean with
 * its 95 % interval as an error bar, and each seed's value as a small dot, so the spread the
 * interval summarises is visible too.
 */
final class StudyChart {
    private StudyChart() {}

    /** Draws the chart; returns null, or why it could not be drawn (headless AWT without fonts). */
    static String write(StudyReport report, Path png) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        try {
            XYChart chart = new XYChartBuilder().width(900).height(520).title("Table 1 over seeds: test top-1 (mean, 95 % CI, seeds)")
                    .xAxisTitle("").yAxisTitle("test top-1 (%)").build();
            var st = chart.getStyler();
            st.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            st.setLegendPosition(Styler.LegendPosition.OutsideS);
            st.setLegendLayout(Styler.LegendLayout.Horizontal);
            st.setXAxisMin(-0.5);
            st.setXAxisMax(SeedResult.ROWS.size() - 0.5);
            st.setErrorBarsColor(Color.DARK_GRAY);
            List<String> labels = SeedResult.ROWS.stream().map(StudyChart::shortLabel).toList();
            chart.setCustomXAxisTickLabelsFormatter(x -> {
                long i = Math.round(x);
                return Math.abs(x - i) < 1e-6 && i >= 0 && i < labels.size() ? labels.get((int) i) : " ";
            });
            st.setXAxisTickMarkSpacingHint(60);
            add(chart, "dvp", report.dvp(), report.testTop1(report.dvp()), report.hasTwin() ? -0.12 : 0, new Color(0x1f77b4));
            if (report.hasTwin()) add(chart, "PyTorch twin", report.twin(), report.testTop1(report.twin()), 0.12, new Color(0xff7f0e));
            AtomicFiles.write(png, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
            return null;
        } catch (IOException | RuntimeException | LinkageError | InternalError e) {
            return "could not draw " + png + ": " + e + " (headless AWT needs fontconfig and a font, e.g. apt-get install fontconfig fonts-dejavu-core)";
        }
    }

    private static String shortLabel(String row) {
        return switch (row) {
            case "supervised" -> "supervised";
            case "linear" -> "phase 1 + linear";
            case "finetune" -> "phase 1 + finetune";
            case "distill" -> "phase 1 + phase 2";
            default -> row;
        };
    }

    private static void add(XYChart chart, String name, List<SeedResult> seeds, List<SeedSummary> rows, double shift, Color color) {
        List<Double> x = new ArrayList<>(), y = new ArrayList<>(), err = new ArrayList<>(), px = new ArrayList<>(), py = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            SeedSummary s = rows.get(i);
            if (s == null) continue;
            x.add(i + shift);
            y.add(s.mean());
            err.add(s.hasInterval() ? s.halfWidth() : 0.0);
            double[] v = s.values();
            for (int j = 0; j < v.length; j++) {
                px.add(i + shift + 0.05 + 0.1 * j / Math.max(1, v.length - 1));
                py.add(v[j]);
            }
        }
        if (x.isEmpty()) return;
        XYSeries mean = chart.addSeries(name + ": mean ± 95 % CI (" + seeds.size() + " seeds)", x, y, err);
        mean.setMarker(SeriesMarkers.DIAMOND);
        mean.setMarkerColor(color);
        XYSeries dots = chart.addSeries(name + ": each seed", px, py);
        dots.setMarker(SeriesMarkers.CIRCLE);
        dots.setMarkerColor(color.brighter());
    }
}
