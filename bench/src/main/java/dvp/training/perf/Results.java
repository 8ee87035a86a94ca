package dvp.training.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A results file of {@code dvp bench} or {@code dvp profile}: schema {@value #SCHEMA}, documented
 * in docs/results-schema.md. Everything needed to trust and compare a number travels with it:
 * the build, machine and device, the scenario and its resolved settings, the run's settings
 * (warm-up, samples), the ceilings used, and each figure with unit, direction and sample summary.
 * {@code ops} (the per-op table) is present for profiles only.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Results(String schema, String kind, String created, RunEnvironment.Tool tool, RunEnvironment.Machine machine,
                      RunEnvironment.DeviceInfo device, List<ScenarioResult> scenarios, Ceilings ceilings, List<String> notes) {
    public static final String SCHEMA = "dvp-results/1";

    /**
     * One scenario's part: its resolved settings, the run settings (warm-up, samples, command),
     * figures, and for profiles the op table.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ScenarioResult(String name, Map<String, Object> settings, Map<String, Object> run, List<Figure> figures,
                                 List<OpTable.Row> ops) {}

    /**
     * The results of a run on {@code env}. On a simulated device (the one place that decides it)
     * every figure's note starts with {@value RunEnvironment#NOT_A_SPEED} and the notes say why;
     * {@code device.simulated} is true.
     */
    public static Results create(String kind, RunEnvironment env, List<ScenarioResult> scenarios, Ceilings ceilings, List<String> notes) {
        String label = env.device().label();
        if (label != null) {
            scenarios = scenarios.stream().map(s -> new ScenarioResult(s.name(), s.settings(), s.run(),
                    s.figures().stream().map(f -> f.labelled(label)).toList(), s.ops())).toList();
            List<String> n = new ArrayList<>();
            n.add(label + ": every figure and time in this file was measured on a simulated device (" + env.device().name()
                    + "), the CUDA simulator running the device code on the CPU");
            n.addAll(notes);
            notes = n;
        }
        return new Results(SCHEMA, kind, Instant.now().toString(), env.tool(), env.machine(), env.device(), scenarios, ceilings, notes);
    }

    public void write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Json.writeFile(file, this);
    }

    /**
     * A figure as read back from a file (what {@code dvp bench compare} needs); {@code derivedFrom}
     * names the figure of the same scenario a rate was computed from, or is null; {@code simulated}:
     * the file's device is simulated, so the figure is {@value RunEnvironment#NOT_A_SPEED}.
     */
    public record ReadFigure(String scenario, String name, String unit, String better, int samples, double median, double spreadPct,
                             String derivedFrom, boolean simulated) {
        public ReadFigure(String scenario, String name, String unit, String better, int samples, double median, double spreadPct) {
            this(scenario, name, unit, better, samples, median, spreadPct, null, false);
        }

        public String key() { return scenario + " / " + name; }

        /** How many times better this figure is than {@code base} in the figure's direction (> 1: better; same unit assumed). */
        public double gainOver(ReadFigure base) { return better.equals(Figure.HIGHER) ? median / base.median : base.median / median; }

        /** Whether a gain is within the larger spread (IQR as % of the median) of the two figures. */
        public boolean withinSpread(ReadFigure other, double gain) { return Math.abs(gain - 1) <= Math.max(spreadPct, other.spreadPct) / 100; }
    }

    /**
     * What {@code compare} and {@code report} read from a results file: its device line, whether
     * the device was simulated ({@code device.simulated}; missing in older files = not simulated)
     * and every figure; for reports also the tool ("dvp 0.1.0", "pytorch 2.11.0"), the driver, the
     * device facts, each scenario's settings and the scenarios the file lists as skipped ("name: reason").
     */
    public record Read(Path file, String kind, String device, boolean simulated, String commit, String created, List<ReadFigure> figures,
                       String tool, String driver, Map<String, String> facts, Map<String, JsonNode> settings, List<String> skipped) {
        public Read(Path file, String kind, String device, String commit, String created, List<ReadFigure> figures) {
            this(file, kind, device, figures.stream().anyMatch(ReadFigure::simulated), commit, created, figures, "?", null, Map.of(),
                    Map.of(), List.of());
        }
    }

    /**
     * Reads a results file written by any dvp of this schema family. A missing file, invalid JSON,
     * another schema or a figure without name/unit/median is a {@link BadInputException} naming
     * the file and what is wrong.
     */
    public static Read read(Path file) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        JsonNode root;
        try {
            root = Json.readFile(file);
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        if (root == null || !root.isObject()) throw new BadInputException(file + ": not a dvp results file (expected a JSON object)");
        String schema = root.path("schema").asText("");
        if (!schema.startsWith("dvp-results/"))
            throw new BadInputException(file + ": not a dvp results file (schema is '" + schema + "', expected " + SCHEMA + ")");
        if (!schema.equals(SCHEMA))
            throw new BadInputException(file + ": results schema " + schema + " is not supported by this dvp (reads " + SCHEMA + ")");
        boolean simulated = root.path("device").path("simulated").asBoolean(false);
        JsonNode scenarios = root.path("scenarios");
        if (!scenarios.isArray()) throw new BadInputException(file + ": 'scenarios' must be an array");
        List<ReadFigure> figs = new ArrayList<>();
        Map<String, JsonNode> settings = new LinkedHashMap<>();
        for (JsonNode sc : scenarios) {
            String scName = text(file, sc, "name", "a scenario");
            settings.put(scName, sc.path("settings"));
            JsonNode fs = sc.path("figures");
            if (!fs.isArray()) throw new BadInputException(file + ": scenario '" + scName + "' has no 'figures' array");
            for (JsonNode f : fs) {
                String name = text(file, f, "name", "a figure of '" + scName + "'");
                String where = "figure '" + name + "' of '" + scName + "'";
                if (!f.path("median").isNumber()) throw new BadInputException(file + ": " + where + " has no numeric 'median'");
                figs.add(new ReadFigure(scName, name, text(file, f, "unit", where), f.path("better").asText("lower"),
                        f.path("samples").asInt(0), f.path("median").asDouble(), f.path("spread_pct").asDouble(0),
                        f.path("derived_from").isTextual() ? f.path("derived_from").asText() : null, simulated));
            }
        }
        Map<String, String> facts = new LinkedHashMap<>();
        root.path("device").path("facts").properties().forEach(e -> facts.put(e.getKey(), e.getValue().asText()));
        List<String> skipped = new ArrayList<>();
        for (JsonNode k : root.path("skipped")) skipped.add(k.path("scenario").asText("?") + ": " + k.path("reason").asText("?"));
        JsonNode driver = root.path("device").path("driver");
        return new Read(file, root.path("kind").asText("?"), root.path("device").path("name").asText("?"), simulated,
                root.path("tool").path("git_commit").asText("?"), root.path("created").asText("?"), figs,
                (root.path("tool").path("name").asText("?") + " " + root.path("tool").path("version").asText("")).strip(),
                driver.isTextual() ? driver.asText() : null, facts, settings, skipped);
    }

    private static String text(Path file, JsonNode n, String field, String what) {
        JsonNode v = n.path(field);
        if (!v.isTextual() || v.asText().isEmpty()) throw new BadInputException(file + ": " + what + " has no '" + field + "'");
        return v.asText();
    }
}
