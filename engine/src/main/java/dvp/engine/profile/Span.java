package dvp.engine.profile;

/**
 * A named interval the profiler recorded around many primitives: a training step ({@code
 * kind = "step"}, index = the step number) or a user range such as "forward" ({@code kind =
 * "range"}). Times as in {@link OpEvent}: host {@link System#nanoTime}; the device interval equals
 * the host interval on backends without a device clock, and for user ranges always.
 */
public record Span(String kind, String name, long index, long hostStartNs, long hostEndNs,
                   double deviceStartNs, double deviceEndNs, String thread) {
    public long hostNanos() { return hostEndNs - hostStartNs; }

    public double deviceNanos() { return deviceEndNs - deviceStartNs; }
}
