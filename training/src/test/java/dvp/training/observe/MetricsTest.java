package dvp.training.observe;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsTest {
    @TempDir
    Path dir;

    private Path metrics() { return dir.resolve("metrics"); }

    private Path tb() { return dir.resolve("tb"); }

    private static List<String> dropTime(List<String> csvLines) {
        // column 2 is wall time: replace it so lines compare exactly
        return csvLines.stream().map(l -> l.startsWith("step,") ? l : l.replaceFirst("^([^,]*),[^,]*", "$1,T")).toList();
    }

    @Test
    void aFullDiskNamesTheMetricsFileBeingWritten() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "no /dev/full here");
        // /dev/full answers every write with ENOSPC, which Java reports as "No space left on device" without a file name
        Files.createDirectories(metrics());
        Files.createSymbolicLink(metrics().resolve("train.csv"), Path.of("/dev/full"));
        CsvMetricSink csv = new CsvMetricSink(metrics());
        var row = new MetricRow("train", 1, 0, new java.util.LinkedHashMap<>(java.util.Map.of("loss", 1.0)));
        var e = assertThrows(java.nio.file.FileSystemException.class, () -> {
            csv.write(row);
            csv.flush();
        });
        assertEquals(metrics().resolve("train.csv").toString(), e.getFile());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        Path jsonl = metrics().resolve("full.jsonl");
        Files.createSymbolicLink(jsonl, Path.of("/dev/full"));
        JsonlMetricSink j = new JsonlMetricSink(jsonl);
        var je = assertThrows(java.nio.file.FileSystemException.class, () -> {
            for (int i = 0; i < 10_000; i++) j.write(row); // more than its buffer
            j.flush();
        });
        assertEquals(jsonl.toString(), je.getFile());
        var ae = assertThrows(java.nio.file.FileSystemException.class,
                () -> dvp.training.run.AtomicFiles.write(metrics().resolve("x.json"), out -> { throw new IOException("No space left on device"); }));
        assertEquals(metrics().resolve("x.json").toString(), ae.getFile(), "the file being written, not its temporary name");
    }

    @Test
    void writesCsvPerGroupJsonlAndTensorBoard() throws IOException {
        try (Metrics m = Metrics.open(metrics(), tb(), -1)) {
            m.row("train", 1).put("loss", 2.5f).put("lr", 0.03).log();
            m.row("train", 2).put("loss", 2.25f).log();       // lr left empty
            m.row("val", 2).put("top1", 0.5).log();
            m.row("train", 3).put("loss", Double.NaN).put("lr", 1e-4).log();
        }
        assertEquals(List.of("step,time,loss,lr", "1,T,2.5,0.03", "2,T,2.25,", "3,T,NaN,1.0E-4"),
                dropTime(Files.readAllLines(metrics().resolve("train.csv"))));
        assertEquals(List.of("step,time,top1", "2,T,0.5"), dropTime(Files.readAllLines(metrics().resolve("val.csv"))));
        List<String> jsonl = Files.readAllLines(metrics().resolve("metrics.jsonl"));
        assertEquals(4, jsonl.size());
        assertTrue(jsonl.get(0).matches("\\{\"group\":\"train\",\"step\":1,\"time\":\\d+\\.\\d{3},\"loss\":2.5,\"lr\":0.03}"), jsonl.get(0));
        assertTrue(jsonl.get(3).contains("\"loss\":null"), jsonl.get(3));
        Path events;
        try (var s = Files.list(tb())) {
            events = s.findFirst().orElseThrow();
        }
        List<TfEventsReader.Event> ev = TfEventsReader.read(events);
        assertEquals(1 + 6, ev.size());
        assertEquals("train/loss", ev.get(1).values().getFirst().tag());
        assertEquals("val/top1", ev.get(4).values().getFirst().tag());
        assertEquals(2, ev.get(4).step());
    }

    @Test
    void resumingDropsRowsAfterTheCheckpointAndKeepsHistory() throws IOException {
        try (Metrics m = Metrics.open(metrics(), null, -1)) {
            for (int s = 1; s <= 5; s++) m.row("train", s).put("loss", 10 - s).log();
            m.row("val", 4).put("top1", 0.25).log();
        }
        // a killed run also leaves a torn last line
        Files.writeString(metrics().resolve("train.csv"), "6,12", java.nio.file.StandardOpenOption.APPEND);
        Files.writeString(metrics().resolve("metrics.jsonl"), "{\"group\":\"tr", java.nio.file.StandardOpenOption.APPEND);
        try (Metrics m = Metrics.open(metrics(), tb(), 3)) {
            var loss = m.history().curves().get("loss").get("train");
            assertEquals(List.of(1L, 2L, 3L), loss.stream().map(MetricHistory.Point::step).toList());
            assertFalse(m.history().curves().containsKey("top1"));
            m.row("train", 4).put("loss", 42).log();
        }
        assertEquals(List.of("step,time,loss", "1,T,9", "2,T,8", "3,T,7", "4,T,42"),
                dropTime(Files.readAllLines(metrics().resolve("train.csv"))));
        assertEquals(List.of("step,time,top1"), Files.readAllLines(metrics().resolve("val.csv")));
        assertEquals(4, Files.readAllLines(metrics().resolve("metrics.jsonl")).size());
        Path events;
        try (var s = Files.list(tb())) {
            events = s.findFirst().orElseThrow();
        }
        var ev = TfEventsReader.read(events);
        assertEquals(1L, ev.get(1).sessionStatus());
        assertEquals(4, ev.get(1).step());
    }

    @Test
    void rejectsBadNamesAndNewColumns() throws IOException {
        try (Metrics m = Metrics.open(metrics(), null, -1)) {
            assertThrows(IllegalArgumentException.class, () -> m.row("train set", 1).put("loss", 1).log());
            assertThrows(IllegalArgumentException.class, () -> m.row("train", 1).put("a,b", 1).log());
            assertThrows(IllegalArgumentException.class, () -> m.row("train", 1).put("step", 1).log());
            m.row("train", 1).put("loss", 1).log();
            var e = assertThrows(IllegalArgumentException.class, () -> m.row("train", 2).put("acc", 1).log());
            assertTrue(e.getMessage().contains("'acc' is not a column"), e.getMessage());
        }
    }

    @Test
    void numbersPrintShortestExact() {
        assertEquals("0.1", MetricFormat.number(0.1f));
        assertEquals("0.1", MetricFormat.number(0.1));
        assertEquals("0.30000000000000004", MetricFormat.number(0.1 + 0.2));
        assertEquals("3", MetricFormat.number(3.0));
        assertEquals("-Infinity", MetricFormat.number(Double.NEGATIVE_INFINITY));
        assertEquals(0.1 + 0.2, Double.parseDouble(MetricFormat.number(0.1 + 0.2)));
    }
}
