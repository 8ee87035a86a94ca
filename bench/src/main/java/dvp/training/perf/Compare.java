package dvp.training.perf;

import dvp.training.run.BuildInfo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code dvp bench compare A.json B.json}: every figure present in both files with its two medians,
 * the ratio B/A and whether B is better or worse in the figure's direction; a change smaller than
 * the larger of the two spreads (IQR as % of the median) is called "within spread". A rate derived
 * from a time (GFLOP/s, img/s, GB/s) is judged by that time's spreads: it is the same measurement,
 * and the spread of a rate understates a skewed time's (a time "within spread" had its GFLOP/s
 * "better 391 %"). Figures in only one file are listed as such; figures whose units differ are an
 * error of that row only. A figure from a simulated device is {@value RunEnvironment#NOT_A_SPEED}:
 * its row's verdict says so instead of "better"/"worse" (B/A is then a ratio of simulation times,
 * not a speed-up).
 */
public final class Compare {
    private Compare() {}

    public record Row(String figure, String unit, Double a, Double b, Double ratio, String verdict) {}

    public static List<Row> compare(Results.Read a, Results.Read b) {
        Map<String, Results.ReadFigure> fa = index(a), fb = index(b);
        List<Row> rows = new ArrayList<>();
        for (var e : fa.entrySet()) {
            Results.ReadFigure x = e.getValue(), y = fb.get(e.getKey());
            if (y == null) {
                rows.add(new Row(e.getKey(), x.unit(), x.median(), null, null, labelled("only in A", x.simulated())));
                continue;
            }
            boolean simulated = x.simulated() || y.simulated();
            if (!x.unit().equals(y.unit())) {
                rows.add(new Row(e.getKey(), x.unit() + " vs " + y.unit(), x.median(), y.median(), null, labelled("units differ", simulated)));
                continue;
            }
            double ratio = y.median() / x.median();
            double gain = y.gainOver(x); // > 1: B better
            String verdict = !Double.isFinite(ratio) ? labelled("not comparable", simulated)
                    : simulated ? RunEnvironment.NOT_A_SPEED + " (" + (x.simulated() && y.simulated() ? "A and B" : x.simulated() ? "A" : "B") + ")"
                    : noise(x, y, gain, fa, fb) ? "within spread"
                    : String.format(Locale.ROOT, "%s %.1f%%", gain > 1 ? "better" : "worse", 100 * Math.abs(gain - 1));
            rows.add(new Row(e.getKey(), x.unit(), x.median(), y.median(), ratio, verdict));
        }
        for (var e : fb.entrySet())
            if (!fa.containsKey(e.getKey()))
                rows.add(new Row(e.getKey(), e.getValue().unit(), null, e.getValue().median(), null, labelled("only in B", e.getValue().simulated())));
        return rows;
    }

    private static String labelled(String verdict, boolean simulated) { return simulated ? verdict + "; " + RunEnvironment.NOT_A_SPEED : verdict; }

    /** Whether B's change from A is within the spread: a derived figure's by the spreads of the figure it comes from. */
    private static boolean noise(Results.ReadFigure x, Results.ReadFigure y, double gain, Map<String, Results.ReadFigure> fa,
                                 Map<String, Results.ReadFigure> fb) {
        if (x.derivedFrom() != null && x.derivedFrom().equals(y.derivedFrom())) {
            String key = x.scenario() + " / " + x.derivedFrom();
            Results.ReadFigure sx = fa.get(key), sy = fb.get(key);
            if (sx != null && sy != null) return sx.withinSpread(sy, sy.gainOver(sx));
        }
        return x.withinSpread(y, gain);
    }

    private static Map<String, Results.ReadFigure> index(Results.Read r) {
        Map<String, Results.ReadFigure> m = new LinkedHashMap<>();
        for (Results.ReadFigure f : r.figures()) m.put(f.key(), f);
        return m;
    }

    public static List<Row> print(Path fileA, Path fileB, PrintWriter out) throws IOException {
        Results.Read a = Results.read(fileA), b = Results.read(fileB);
        out.println("A: " + fileA + " (" + a.kind() + ", " + a.device() + ", git " + BuildInfo.shortCommit(a.commit()) + ", " + a.created() + ")"
                + (a.simulated() ? ": SIMULATED device, every figure is " + RunEnvironment.NOT_A_SPEED : ""));
        out.println("B: " + fileB + " (" + b.kind() + ", " + b.device() + ", git " + BuildInfo.shortCommit(b.commit()) + ", " + b.created() + ")"
                + (b.simulated() ? ": SIMULATED device, every figure is " + RunEnvironment.NOT_A_SPEED : ""));
        if (!a.device().equals(b.device())) out.println("note: the two files come from different devices");
        if (a.simulated() || b.simulated())
            out.println("note: figures of a simulated device are " + RunEnvironment.NOT_A_SPEED + ": B/A compares simulation times, it is no speed-up");
        List<Row> rows = compare(a, b);
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[]{"figure", "unit", "A median", "B median", "B/A", "B vs A"});
        for (Row r : rows)
            cells.add(new String[]{r.figure(), r.unit(), r.a() == null ? "-" : ProfileReport.f(r.a()), r.b() == null ? "-" : ProfileReport.f(r.b()),
                    r.ratio() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.ratio()), r.verdict()});
        out.print(BenchRun.table(cells));
        out.flush();
        return rows;
    }
}
