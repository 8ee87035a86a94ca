package dvp.training.pipeline;

import dvp.training.loop.MetricsFormat;

import java.util.List;
import java.util.Locale;

/** The pipeline's results as a markdown table (Table 1's layout, with our numbers and the paper's). */
public final class ResultsTable {
    private ResultsTable() {}

    public static String markdown(String title, List<ResultRow> rows, String testLabel) {
        StringBuilder sb = new StringBuilder();
        if (title != null) sb.append(title).append("\n\n");
        sb.append("| Method | Pretrain epochs | Epochs | Val top-1 (last) | Val top-1 (best) | ").append(testLabel)
                .append(" top-1 | ").append(testLabel).append(" top-5 | Time | Paper (VIPriors val, R-50) |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (ResultRow r : rows) {
            sb.append("| ").append(r.method())
                    .append(" | ").append(r.pretrainEpochs() > 0 ? Integer.toString(r.pretrainEpochs()) : "-")
                    .append(" | ").append(r.epochs())
                    .append(" | ").append(MetricsFormat.percent(r.valTop1Last()))
                    .append(" | ").append(MetricsFormat.percent(r.valTop1Best()))
                    .append(" | ").append(MetricsFormat.percent(r.testTop1()))
                    .append(" | ").append(MetricsFormat.percent(r.testTop5()))
                    .append(" | ").append(duration(r.seconds()))
                    .append(" | ").append(Double.isNaN(r.paperTop1()) ? "-" : String.format(Locale.ROOT, "%.1f", r.paperTop1()))
                    .append(" |\n");
        }
        return sb.toString();
    }

    static String duration(double s) {
        if (Double.isNaN(s)) return "-";
        long t = Math.round(s);
        return t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + "s";
    }
}
