package dvp.engine.spi;

/** A requested backend cannot run here; the message says what was looked for and found. */
public final class BackendUnavailableException extends RuntimeException {
    private final String backend;

    public BackendUnavailableException(String backend, String reason) {
        super("backend '" + backend + "' is not available: " + reason);
        this.backend = backend;
    }

    public String backend() { return backend; }
}
