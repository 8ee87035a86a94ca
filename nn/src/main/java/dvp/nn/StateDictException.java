package dvp.nn;

/** A strict state-dict load found missing, unexpected or mismatched keys; the message lists all of them. */
public final class StateDictException extends IllegalArgumentException {
    private final transient LoadReport report;

    public StateDictException(String message, LoadReport report) {
        super(message);
        this.report = report;
    }

    /** What was found (nothing was copied). */
    public LoadReport report() { return report; }
}
