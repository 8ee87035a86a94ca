package dvp.training.observe;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.run.AtomicFiles;
import dvp.training.run.Json;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code metrics.jsonl}: one JSON object per row, {@code {"group":..,"step":..,"time":..,<name>:<value>..}};
 * a NaN/Inf value is written as null (JSON has no such numbers). All groups share the file.
 */
final class JsonlMetricSink implements MetricSink {
    private final BufferedWriter out;
    private final Path file;

    JsonlMetricSink(Path file) throws IOException {
        this.file = file;
        Files.createDirectories(file.toAbsolutePath().getParent());
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public void write(MetricRow row) throws IOException {
        // group and names are restricted to [A-Za-z0-9_./-] by MetricRow: no escaping needed
        StringBuilder sb = new StringBuilder(64);
        sb.append("{\"group\":\"").append(row.group()).append("\",\"step\":").append(row.step())
                .append(",\"time\":").append(MetricFormat.time(row.wallTime()));
        for (Map.Entry<String, Double> e : row.values().entrySet()) {
            double v = e.getValue();
            sb.append(",\"").append(e.getKey()).append("\":").append(Double.isFinite(v) ? MetricFormat.number(v) : "null");
        }
        try {
            out.write(sb.append("}\n").toString());
        } catch (IOException e) {
            throw AtomicFiles.naming(file, e);
        }
    }

    /** The rows of a metrics.jsonl file (a torn last line from a killed run is skipped). */
    static List<MetricRow> read(Path file) throws IOException {
        List<MetricRow> rows = new ArrayList<>();
        if (!Files.exists(file)) return rows;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode n;
            try {
                n = Json.MAPPER.readTree(line);
            } catch (IOException e) {
                continue;
            }
            if (n == null || !n.has("group") || !n.has("step")) continue;
            var values = new java.util.LinkedHashMap<String, Double>();
            for (var it = n.fields(); it.hasNext(); ) {
                var f = it.next();
                String k = f.getKey();
                if (k.equals("group") || k.equals("step") || k.equals("time")) continue;
                values.put(k, f.getValue().isNull() ? Double.NaN : f.getValue().asDouble());
            }
            rows.add(new MetricRow(n.get("group").asText(), n.get("step").asLong(), n.path("time").asDouble(), values));
        }
        return rows;
    }

    /** Keeps only rows with step <= lastStep (before resuming from lastStep). */
    static void truncateAfter(Path file, long lastStep) throws IOException {
        if (!Files.exists(file)) return;
        StringBuilder kept = new StringBuilder();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            try {
                JsonNode n = Json.MAPPER.readTree(line);
                if (n != null && n.has("step") && n.get("step").asLong() <= lastStep) kept.append(line).append('\n');
            } catch (IOException e) {
                // torn line: dropped
            }
        }
        AtomicFiles.write(file, o -> o.write(kept.toString().getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public void flush() throws IOException {
        try {
            out.flush();
        } catch (IOException e) {
            throw AtomicFiles.naming(file, e);
        }
    }

    @Override
    public void sync() throws IOException { AtomicFiles.fsync(file); }

    @Override
    public void close() throws IOException { out.close(); }
}
