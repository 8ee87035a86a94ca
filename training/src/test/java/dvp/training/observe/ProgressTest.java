package dvp.training.observe;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    @Test
    void autoDrawsABarOnlyOnAnInteractiveTerminalOutsideCi() {
        assertEquals(ProgressMode.BAR, ProgressMode.AUTO.resolve(Map.of("TERM", "xterm"), true));
        assertEquals(ProgressMode.PLAIN, ProgressMode.AUTO.resolve(Map.of(), false));
        assertEquals(ProgressMode.PLAIN, ProgressMode.AUTO.resolve(Map.of("CI", "true"), true));
        assertEquals(ProgressMode.PLAIN, ProgressMode.AUTO.resolve(Map.of("TERM", "dumb"), true));
        assertEquals(ProgressMode.BAR, ProgressMode.AUTO.resolve(Map.of("CI", "false"), true));
        assertEquals(ProgressMode.BAR, ProgressMode.BAR.resolve(Map.of("CI", "1"), false));
        assertEquals(ProgressMode.NONE, ProgressMode.parse(" None"));
    }

    @Test
    void plainLinesHaveNoControlCharacters() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try (Progress p = Progress.plain("pretrain", 400, 100, "step", out, 0)) {
            p.update(200, "epoch 3/10 loss 4.1234");
            p.update(300, null);
        }
        List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals("[pretrain] resuming at 100/400 steps", lines.get(0));
        assertTrue(lines.get(1).startsWith("[pretrain] 200/400 steps (50.0%)"), lines.get(1));
        assertTrue(lines.get(1).endsWith("epoch 3/10 loss 4.1234"), lines.get(1));
        assertTrue(lines.get(2).startsWith("[pretrain] 300/400 steps (75.0%)") && lines.get(2).endsWith("loss 4.1234"), lines.get(2));
        assertTrue(lines.getLast().contains("done in"), lines.getLast());
        assertEquals(4, lines.size());
        for (char c : buf.toString(StandardCharsets.UTF_8).toCharArray()) assertFalse(c < 0x20 && c != '\n', "control character " + (int) c);
    }

    @Test
    void plainPrintsAtMostOncePerInterval() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (Progress p = Progress.plain("t", 1000, 0, "step", new PrintStream(buf, true, StandardCharsets.UTF_8), 3_600_000_000_000L)) {
            for (int i = 1; i <= 1000; i++) p.update(i, "x");
        }
        assertEquals(2, buf.toString(StandardCharsets.UTF_8).lines().count()); // start and end only
    }

    @Test
    void durationsReadNaturally() {
        assertEquals("59s", PlainProgress.duration(59.4));
        assertEquals("2m13s", PlainProgress.duration(133));
        assertEquals("1h01m", PlainProgress.duration(3661));
    }
}
