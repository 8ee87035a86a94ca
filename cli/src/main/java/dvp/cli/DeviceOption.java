package dvp.cli;

import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;

import java.io.PrintWriter;

/** {@code --device cpu|cuda|auto}: lower case because that is what users type. */
public enum DeviceOption {
    cpu, cuda, auto;

    /**
     * The backend for this choice. A named device that is unavailable throws
     * {@link dvp.engine.spi.BackendUnavailableException} (exit code 3), never falls back;
     * {@code auto} says what it chose and why.
     */
    public Backend select(PrintWriter err) {
        Backend b = Backends.get(name());
        if (this == auto) {
            err.println("dvp: --device auto chose " + b.name() + " (" + Backends.reasons() + ")");
            err.flush();
        }
        return b;
    }
}
