package dvp.training.perf;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.AtomicFiles;
import dvp.training.run.BadInputException;
import dvp.training.run.BuildInfo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code dvp bench report}: several series of results files (dvp's in one or more modes, and
 * baselines such as bench/pytorch/gpu_baselines.py's, one series per mode) side by side:
 * {@code table.md} with each workload's headline median per series (throughput where the workload
 * has one, else time; and peak memory), the speed of every "ours" series relative to every
 * baseline, and per multi-workload scenario the geometric mean of those ratios; {@code chart.png}
 * (see {@link BenchChart}) with each series' speed relative to the reference baseline; and
 * {@code chart.csv}, the chart's numbers.
 *
 * <p>Ratios are "how many times better ours is" in the figure's direction: baseline time / our time
 * for times and peak memory, our / baseline for throughputs; > 1 means ours is better. A ratio
 * inside the larger of the two spreads (IQR % of the median) is marked "~". Figures that only some
 * series have show "-"; a series whose files are missing or unreadable is reported, not fatal.
 *
 * <p>A series with a file from a simulated device is named "LABEL (simulated, not a speed)" in
 * the table, the chart's legend and chart.csv; each of its medians and every ratio or relative
 * speed that involves it carries {@value RunEnvironment#NOT_A_SPEED} too, as does the chart's title.
 */
public final class BenchReport {
    private BenchReport() {}

    /** A named set of results files ({@code paths}: files, or folders whose *.json are read). */
    public record Series(String label, boolean ours, List<Path> paths) {
        /** Parses "LABEL=PATH[,PATH...]". */
        public static Series parse(String spec, boolean ours) {
            int eq = spec.indexOf('=');
            if (eq <= 0 || eq == spec.length() - 1)
                throw new BadInputException("a series is LABEL=FILE[,FILE...] (a file or a folder of *.json), got '" + spec + "'");
            List<Path> p = Stream.of(spec.substring(eq + 1).split(",")).map(String::strip).filter(s -> !s.isEmpty()).map(Path::of).toList();
            return new Series(spec.substring(0, eq).strip(), ours, p);
        }
    }

    /** A series as read: its figures by key ("scenario / figure"), the files read, and what went wrong. */
    record Loaded(Series series, Map<String, Results.ReadFigure> figures, List<Results.Read> reads, List<String> problems) {
        /** Whether a file of the series comes from a simulated device. */
        boolean simulated() { return reads.stream().anyMatch(Results.Read::simulated); }

        /** The label shown everywhere (table, chart legend, chart.csv): with "(simulated, not a speed)" when simulated. */
        String name() { return simulated() ? series.label() + " (" + RunEnvironment.NOT_A_SPEED + ")" : series.label(); }
    }

    /** One table row: the headline figure of one workload (or peak memory) in every series. */
    record Row(String scenario, String figure, String unit, String better, List<Results.ReadFigure> cells) {}

    /**
     * What {@link #write} produced: the rows, the chart's relative speeds (scenario -> series name -> ratio), the
     * chart's texts as drawn (title, y-axis title, then the legend's series names), problems.
     */
    public record Report(List<Row> rows, Map<String, Map<String, Double>> chart, Path table, Path png, List<String> chartLabels,
                         List<String> problems) {}

    public static Report write(List<Series> series, Path outDir, String title, List<String> notes, PrintWriter log) throws IOException {
        if (series.stream().noneMatch(Series::ours)) throw new BadInputException("dvp bench report: give at least one --ours series");
        if (series.stream().allMatch(Series::ours)) throw new BadInputException("dvp bench report: give at least one --baseline series");
        List<Loaded> loaded = new ArrayList<>();
        for (Series s : series) loaded.add(load(s));
        List<Row> rows = rows(loaded);
        Loaded reference = loaded.stream().filter(l -> !l.series().ours()).findFirst().orElseThrow();
        Map<String, Map<String, Double>> chart = relativeSpeeds(rows, loaded, loaded.indexOf(reference));
        List<String> problems = new ArrayList<>();
        for (Loaded l : loaded) for (String p : l.problems()) problems.add(l.name() + ": " + p);
        Files.createDirectories(outDir);
        Path table = outDir.resolve("table.md"), png = outDir.resolve("chart.png"), csv = outDir.resolve("chart.csv");
        String md = markdown(title, notes, loaded, rows, chart, reference);
        AtomicFiles.write(table, o -> o.write(md.getBytes(StandardCharsets.UTF_8)));
        StringBuilder c = new StringBuilder("scenario,series,speed_relative_to_" + csvSafe(reference.name()) + "\n");
        chart.forEach((sc, m) -> m.forEach((s, v) -> c.append(csvSafe(sc)).append(',').append(csvSafe(s)).append(',')
                .append(String.format(Locale.ROOT, "%.6g", v)).append('\n')));
        AtomicFiles.write(csv, o -> o.write(c.toString().getBytes(StandardCharsets.UTF_8)));
        List<String> simulated = loaded.stream().filter(Loaded::simulated).map(l -> l.series().label()).toList();
        String chartTitle = simulated.isEmpty() ? title : title + " [" + RunEnvironment.NOT_A_SPEED + ": " + String.join(", ", simulated) + "]";
        BenchChart.Drawn drawn = BenchChart.write(chart, loaded.stream().map(Loaded::name).toList(), reference.name(), chartTitle, png);
        if (drawn.problem() != null) {
            problems.add(drawn.problem());
            png = null;
        }
        for (String p : problems) log.println("report: " + p);
        log.println("report: " + table + (png != null ? ", " + png : "") + ", " + csv);
        log.flush();
        return new Report(rows, chart, table, png, drawn.labels(), problems);
    }

    static Loaded load(Series s) {
        Map<String, Results.ReadFigure> figures = new LinkedHashMap<>();
        List<Results.Read> reads = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Path p : s.paths()) {
            List<Path> files = new ArrayList<>();
            if (Files.isDirectory(p)) {
                try (Stream<Path> list = Files.list(p)) {
                    list.filter(f -> f.getFileName().toString().endsWith(".json")).sorted().forEach(files::add);
                } catch (IOException e) {
                    problems.add("cannot list " + p + ": " + e.getMessage());
                }
                if (files.isEmpty()) problems.add("no results files (*.json) in " + p);
            } else if (!Files.exists(p)) {
                problems.add("no results file " + p);
            } else {
                files.add(p);
            }
            for (Path f : files) {
                try {
                    Results.Read r = Results.read(f);
                    reads.add(r);
                    for (Results.ReadFigure fig : r.figures()) figures.putIfAbsent(fig.key(), fig);
                    for (String k : r.skipped()) problems.add("not measured: " + k);
                } catch (IOException | BadInputException e) {
                    problems.add("unreadable " + f + ": " + e.getMessage());
                }
            }
        }
        return new Loaded(s, figures, reads, problems);
    }

    /** The workloads' headline figures, in dvp's scenario order, then peak memory per scenario. */
    static List<Row> rows(List<Loaded> loaded) {
        Set<String> workloads = new LinkedHashSet<>(), scenarios = new LinkedHashSet<>();
        Map<String, String[]> scenarioOf = new LinkedHashMap<>();
        List<Results.ReadFigure> all = new ArrayList<>();
        for (Loaded l : loaded) all.addAll(l.figures().values());
        all.sort(java.util.Comparator.comparingInt(f -> order(f.scenario())));
        for (Results.ReadFigure f : all) {
            scenarios.add(f.scenario());
            int slash = f.name().lastIndexOf('/');
            if (slash < 0) continue;
            String w = f.scenario() + " / " + f.name().substring(0, slash);
            workloads.add(w);
            scenarioOf.put(w, new String[]{f.scenario(), f.name().substring(0, slash)});
        }
        List<Row> rows = new ArrayList<>();
        for (String w : workloads) {
            String[] sw = scenarioOf.get(w);
            boolean tput = loaded.stream().anyMatch(l -> l.figures().containsKey(w + "/throughput"));
            rows.add(row(loaded, sw[0], sw[1] + (tput ? "/throughput" : "/time")));
        }
        for (String sc : scenarios) {
            Row r = row(loaded, sc, "peak_memory");
            if (r.cells().stream().anyMatch(java.util.Objects::nonNull)) rows.add(r);
        }
        return rows;
    }

    private static Row row(List<Loaded> loaded, String scenario, String figure) {
        List<Results.ReadFigure> cells = new ArrayList<>();
        String unit = null, better = null;
        for (Loaded l : loaded) {
            Results.ReadFigure f = l.figures().get(scenario + " / " + figure);
            cells.add(f);
            if (f != null && unit == null) {
                unit = f.unit();
                better = f.better();
            }
        }
        return new Row(scenario, figure, unit, better, cells);
    }

    private static int order(String scenario) {
        int i = Scenarios.NAMES.indexOf(scenario);
        return i < 0 ? Scenarios.NAMES.size() : i;
    }

    /** How many times better a is than b in the figure's direction (> 1: a better); null if not comparable. */
    static Double speedup(Results.ReadFigure a, Results.ReadFigure b) {
        if (a == null || b == null || !a.unit().equals(b.unit()) || !(a.median() > 0) || !(b.median() > 0)) return null;
        return a.gainOver(b);
    }

    /** Per scenario (speed rows only), each series' geometric-mean speed relative to the reference series. */
    static Map<String, Map<String, Double>> relativeSpeeds(List<Row> rows, List<Loaded> loaded, int ref) {
        Map<String, Map<String, List<Double>>> acc = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.figure().equals("peak_memory")) continue;
            for (int i = 0; i < loaded.size(); i++) {
                Double s = speedup(r.cells().get(i), r.cells().get(ref));
                if (s != null) acc.computeIfAbsent(r.scenario(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(loaded.get(i).name(), k -> new ArrayList<>()).add(s);
            }
        }
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        acc.forEach((sc, m) -> {
            Map<String, Double> g = new LinkedHashMap<>();
            for (Loaded l : loaded) if (m.containsKey(l.name())) g.put(l.name(), geomean(m.get(l.name())));
            out.put(sc, g);
        });
        return out;
    }

    static double geomean(List<Double> v) {
        double s = 0;
        for (double x : v) s += Math.log(x);
        return Math.exp(s / v.size());
    }

    static String markdown(String title, List<String> notes, List<Loaded> loaded, List<Row> rows, Map<String, Map<String, Double>> chart,
                           Loaded ref) {
        String reference = ref.name();
        StringBuilder b = new StringBuilder("# ").append(title).append("\n\n");
        b.append("Written ").append(Instant.now()).append(" by `dvp bench report`.\n\n");
        List<String> simulated = loaded.stream().filter(Loaded::simulated).map(l -> l.series().label()).toList();
        if (!simulated.isEmpty())
            b.append("- **").append(RunEnvironment.NOT_A_SPEED).append("**: series ").append(cell(String.join(", ", simulated)))
                    .append(" ran on a simulated device (the CUDA simulator running the device code on the CPU): ")
                    .append(simulated.size() == 1 ? "its" : "their").append(" medians, and every ratio and bar that involves ")
                    .append(simulated.size() == 1 ? "it" : "them").append(", measure the simulation, not a speed.\n");
        for (String n : notes) b.append("- ").append(n).append('\n');
        if (!notes.isEmpty() || !simulated.isEmpty()) b.append('\n');
        b.append("## Series\n\n| series | tool | device | driver | settings | files |\n| --- | --- | --- | --- | --- | --- |\n");
        for (Loaded l : loaded) {
            Results.Read r = l.reads().isEmpty() ? null : l.reads().getFirst();
            b.append("| ").append(cell(l.name())).append(l.series().ours() ? " (ours)" : "").append(" | ")
                    .append(r == null ? "-" : cell(r.tool() + " (git " + BuildInfo.shortCommit(r.commit()) + ")")).append(" | ")
                    .append(r == null ? "-" : cell(r.device())).append(" | ").append(r == null || r.driver() == null ? "-" : cell(r.driver()))
                    .append(" | ").append(r == null ? "-" : cell(keyFacts(r.facts()))).append(" | ").append(l.reads().size()).append(" |\n");
        }
        List<Loaded> ours = loaded.stream().filter(l -> l.series().ours()).toList();
        List<Loaded> base = loaded.stream().filter(l -> !l.series().ours()).toList();
        b.append("\n## Medians and ratios\n\nRatio columns: how many times better ours is than the baseline in the figure's direction ")
                .append("(baseline ms / our ms, our img/s / baseline img/s, baseline MiB / our MiB); > 1 means ours is better; ")
                .append("`~` marks a ratio within the larger IQR of the two.\n\n| scenario | workload | unit |");
        for (Loaded l : loaded) b.append(' ').append(cell(l.name())).append(" |");
        for (Loaded o : ours) for (Loaded t : base) b.append(' ').append(cell(o.name() + " vs " + t.name())).append(" |");
        b.append("\n|").append(" --- |".repeat(3 + loaded.size() + ours.size() * base.size())).append('\n');
        for (Row r : rows) {
            b.append("| ").append(r.scenario()).append(" | ").append(cell(r.figure())).append(" | ").append(r.unit()).append(" |");
            for (Results.ReadFigure f : r.cells())
                b.append(' ').append(f == null ? "-" : ProfileReport.f(f.median()) + " ±" + ProfileReport.pct(f.spreadPct()) + "%"
                        + tag(f.simulated())).append(" |");
            for (Loaded o : ours)
                for (Loaded t : base) {
                    Results.ReadFigure x = r.cells().get(loaded.indexOf(o)), y = r.cells().get(loaded.indexOf(t));
                    Double s = speedup(x, y);
                    b.append(' ').append(s == null ? "-" : (x.withinSpread(y, s) ? "~" : "") + String.format(Locale.ROOT, "%.2f×", s)
                            + tag(x.simulated() || y.simulated())).append(" |");
                }
            b.append('\n');
        }
        b.append("\n## Speed relative to ").append(reference).append(" (chart.png)\n\nPer scenario, the geometric mean over its workloads ")
                .append("of each series' speed relative to ").append(reference).append(" (> 1: faster).\n\n| scenario |");
        for (Loaded l : loaded) b.append(' ').append(cell(l.name())).append(" |");
        b.append("\n|").append(" --- |".repeat(1 + loaded.size())).append('\n');
        chart.forEach((sc, m) -> {
            b.append("| ").append(sc).append(" |");
            for (Loaded l : loaded) {
                Double v = m.get(l.name());
                b.append(' ').append(v == null ? "-" : String.format(Locale.ROOT, "%.2f", v) + tag(l.simulated() || ref.simulated())).append(" |");
            }
            b.append('\n');
        });
        List<String> mismatches = settingsMismatches(loaded);
        List<String> problems = new ArrayList<>();
        for (Loaded l : loaded) for (String p : l.problems()) problems.add(l.name() + ": " + p);
        if (!mismatches.isEmpty() || !problems.isEmpty()) {
            b.append("\n## Not compared, not measured, settings that differ\n\n");
            for (String m : mismatches) b.append("- settings differ: ").append(cell(m)).append('\n');
            for (String p : problems) b.append("- ").append(cell(p)).append('\n');
        }
        return b.toString();
    }

    /** Numeric settings of a scenario that differ from the first series that has the scenario. */
    static List<String> settingsMismatches(List<Loaded> loaded) {
        Map<String, Map<String, Double>> first = new LinkedHashMap<>();
        Map<String, String> firstLabel = new LinkedHashMap<>();
        List<String> out = new ArrayList<>();
        for (Loaded l : loaded)
            for (Results.Read r : l.reads())
                r.settings().forEach((sc, node) -> {
                    Map<String, Double> nums = new LinkedHashMap<>();
                    node.properties().forEach(e -> {
                        JsonNode v = e.getValue();
                        if (v.isNumber()) nums.put(e.getKey(), v.asDouble());
                    });
                    Map<String, Double> f = first.get(sc);
                    if (f == null) {
                        first.put(sc, nums);
                        firstLabel.put(sc, l.name());
                        return;
                    }
                    nums.forEach((k, v) -> {
                        Double w = f.get(k);
                        if (w != null && Math.abs(v - w) > 1e-6 * Math.max(1, Math.abs(w)))
                            out.add(sc + ": " + k + " = " + num(v) + " in " + l.name() + ", " + num(w) + " in "
                                    + firstLabel.get(sc));
                    });
                });
        return out;
    }

    private static String keyFacts(Map<String, String> facts) {
        List<String> out = new ArrayList<>();
        for (String k : List.of("mode", "precision", "deterministic", "TF32", "tf32", "autocast", "memory_format", "torch.compile", "cudnn.benchmark"))
            if (facts.containsKey(k)) out.add(k + ": " + facts.get(k));
        return out.isEmpty() ? "-" : String.join("; ", out);
    }

    private static String num(double v) { return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v); }

    /** " (simulated, not a speed)" after a cell whose number involves a simulated figure. */
    private static String tag(boolean simulated) { return simulated ? " (" + RunEnvironment.NOT_A_SPEED + ")" : ""; }

    private static String cell(String s) { return s.replace("|", "\\|").replace("\n", " "); }

    private static String csvSafe(String s) { return s.contains(",") || s.contains("\"") ? '"' + s.replace("\"", "\"\"") + '"' : s; }
}
