package dvp.training.observe;

import dvp.training.run.AtomicFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code <group>.csv} per metric group: header {@code step,time,<names of the group's first row>}.
 * A later row of the group may leave a column empty but may not add one (a programming error:
 * the columns of a file are fixed when it is created). Values print in the shortest form that reads
 * back exactly ({@link MetricFormat}).
 */
final class CsvMetricSink implements MetricSink {
    private final Path dir;
    private final Map<String, BufferedWriter> writers = new HashMap<>();
    private final Map<String, List<String>> columns = new HashMap<>();

    CsvMetricSink(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
    }

    /** Keeps only rows with step <= lastStep in every CSV of dir (before resuming from lastStep). */
    static void truncateAfter(Path dir, long lastStep) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".csv")).toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                if (lines.isEmpty()) continue;
                List<String> kept = new ArrayList<>(List.of(lines.getFirst()));
                for (String line : lines.subList(1, lines.size())) {
                    int comma = line.indexOf(',');
                    try {
                        if (comma > 0 && Long.parseLong(line.substring(0, comma)) <= lastStep) kept.add(line);
                    } catch (NumberFormatException e) {
                        // a torn last line from a killed run: dropped
                    }
                }
                AtomicFiles.write(f, out -> out.write((String.join("\n", kept) + "\n").getBytes(StandardCharsets.UTF_8)));
            }
        }
    }

    @Override
    public void write(MetricRow row) throws IOException {
        BufferedWriter w = writers.get(row.group());
        if (w == null) w = open(row);
        List<String> cols = columns.get(row.group());
        for (String k : row.values().keySet())
            if (!cols.contains(k))
                throw new IllegalArgumentException("metric '" + k + "' is not a column of " + dir.resolve(row.group() + ".csv")
                        + " (columns: " + cols + "); log it in the group's first row or in another group");
        StringBuilder sb = new StringBuilder();
        sb.append(row.step()).append(',').append(MetricFormat.time(row.wallTime()));
        for (String c : cols) {
            sb.append(',');
            Double v = row.values().get(c);
            if (v != null) sb.append(MetricFormat.number(v));
        }
        try {
            w.write(sb.append('\n').toString());
        } catch (IOException e) {
            throw AtomicFiles.naming(file(row.group()), e);
        }
    }

    private Path file(String group) { return dir.resolve(group + ".csv"); }

    private BufferedWriter open(MetricRow row) throws IOException {
        Path f = dir.resolve(row.group() + ".csv");
        List<String> cols;
        if (Files.exists(f) && Files.size(f) > 0) {
            // resuming: keep the file's columns
            String header = Files.readAllLines(f, StandardCharsets.UTF_8).getFirst();
            List<String> h = List.of(header.split(","));
            if (h.size() < 2 || !h.get(0).equals("step") || !h.get(1).equals("time"))
                throw new IOException(f + ": not a dvp metrics file (header '" + header + "')");
            cols = h.subList(2, h.size());
        } else {
            cols = List.copyOf(row.values().keySet());
            try {
                Files.writeString(f, "step,time," + String.join(",", cols) + "\n", StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw AtomicFiles.naming(f, e);
            }
        }
        BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        writers.put(row.group(), w);
        columns.put(row.group(), cols);
        return w;
    }

    @Override
    public void flush() throws IOException {
        for (var e : writers.entrySet()) {
            try {
                e.getValue().flush();
            } catch (IOException x) {
                throw AtomicFiles.naming(file(e.getKey()), x);
            }
        }
    }

    @Override
    public void sync() throws IOException {
        for (String group : writers.keySet()) AtomicFiles.fsync(file(group));
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (BufferedWriter w : writers.values()) {
            try {
                w.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        writers.clear();
        if (first != null) throw first;
    }
}
