package dvp.engine.spi;

import java.util.List;

/**
 * Optional for a {@link Backend}: extra facts for {@code dvp doctor} beyond its
 * {@link Backend#availability()} line — driver and toolkit versions, the device's name and memory,
 * library versions found (cuBLAS, cuDNN), why a library did not load. Must not throw and must not
 * need the backend to be available (an unavailable backend explains what it looked for).
 */
public interface BackendDiagnostics {
    /** One fact: a short label ("driver", "device 0", "cudnn") and its value; ok=false marks a problem. */
    record Line(String label, String value, boolean ok) {}

    List<Line> diagnostics();
}
