package dvp.cli.doctor;

/** One line of {@code dvp doctor}: what was checked, how it went, and the detail. */
public record Finding(String label, Status status, String text) {
    public enum Status {
        /** works */ OK,
        /** a fact, neither good nor bad */ INFO,
        /** works without it, but something is missing or slower (the text says what to install) */ WARN,
        /** needed and broken */ FAIL
    }

    public static Finding ok(String label, String text) { return new Finding(label, Status.OK, text); }

    public static Finding info(String label, String text) { return new Finding(label, Status.INFO, text); }

    public static Finding warn(String label, String text) { return new Finding(label, Status.WARN, text); }

    public static Finding fail(String label, String text) { return new Finding(label, Status.FAIL, text); }
}
