package dvp.engine.spi;

/** Whether a backend can run here, and if not, why (what was looked for and what was found). */
public record Availability(boolean available, String reason) {
    public static Availability yes(String detail) { return new Availability(true, detail); }

    public static Availability no(String reason) { return new Availability(false, reason); }
}
