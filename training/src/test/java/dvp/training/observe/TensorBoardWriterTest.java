package dvp.training.observe;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorBoardWriterTest {
    @TempDir
    Path dir;

    @Test
    void maskedCrcMatchesTheStandardCheckValue() {
        // CRC-32C("123456789") = 0xE3069283 (the standard check value of the Castagnoli polynomial)
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, TfEventsReader.crc32c(check));
        int crc = 0xE3069283;
        assertEquals(((crc >>> 15) | (crc << 17)) + 0xa282ead8, TfRecordWriter.maskedCrc32c(check, 0, check.length));
    }

    private Path writeSample() throws IOException {
        Path file;
        try (TensorBoardWriter w = TensorBoardWriter.create(dir)) {
            file = w.file();
            w.scalar("train/loss", 1, 1000.5, 2.5f);
            w.scalar("train/lr", 1, 1000.5, 0.03f);
            w.scalar("train/loss", 300, 1001.25, Float.NaN);
            w.sessionStart(7);
            w.scalar("val/top1", 1L << 40, 1002, -1.5e-7f);
        }
        return file;
    }

    @Test
    void javaReaderParsesWhatWasWritten() throws IOException {
        Path file = writeSample();
        assertTrue(file.getFileName().toString().matches("events\\.out\\.tfevents\\.\\d{10}\\.[A-Za-z0-9._-]+"), file.toString());
        List<TfEventsReader.Event> ev = TfEventsReader.read(file);
        assertEquals(6, ev.size());
        assertEquals("brain.Event:2", ev.get(0).fileVersion());
        assertEquals(0, ev.get(0).step());
        assertTrue(ev.get(0).values().isEmpty());
        assertEquals(new TfEventsReader.Value("train/loss", 2.5f), ev.get(1).values().getFirst());
        assertEquals(1, ev.get(1).step());
        assertEquals(1000.5, ev.get(1).wallTime());
        assertEquals(0.03f, ev.get(2).values().getFirst().simpleValue());
        assertTrue(Float.isNaN(ev.get(3).values().getFirst().simpleValue()));
        assertEquals(300, ev.get(3).step());
        assertEquals(1L, ev.get(4).sessionStatus());
        assertEquals(7, ev.get(4).step());
        assertEquals(1L << 40, ev.get(5).step());
        assertEquals(-1.5e-7f, ev.get(5).values().getFirst().simpleValue());
        assertNull(ev.get(5).fileVersion());
    }

    @Test
    void pythonReaderParsesWhatWasWritten() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3: independent Python reader skipped");
        Path file = writeSample();
        Path script = dir.resolve("read_tfevents.py");
        try (var in = getClass().getResourceAsStream("read_tfevents.py")) {
            Files.copy(in, script);
        }
        Process p = new ProcessBuilder(python.toString(), script.toString(), file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().toList();
        assertEquals(6, lines.size(), out);
        assertTrue(lines.get(0).contains("\"file_version\": \"brain.Event:2\""), lines.get(0));
        assertTrue(lines.get(1).contains("{\"simple_value\": 2.5, \"tag\": \"train/loss\"}"), lines.get(1));
        assertTrue(lines.get(1).contains("\"step\": 1,") && lines.get(1).contains("\"wall_time\": 1000.5"), lines.get(1));
        assertTrue(lines.get(3).contains("NaN") && lines.get(3).contains("\"step\": 300"), lines.get(3));
        assertTrue(lines.get(4).contains("\"session_log\": {\"1\": 1}"), lines.get(4));
        assertTrue(lines.get(5).contains("\"step\": 1099511627776") && lines.get(5).contains("val/top1"), lines.get(5));
    }
}
