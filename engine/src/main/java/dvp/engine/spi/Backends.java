package dvp.engine.spi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds backends through {@link ServiceLoader} and picks one by name. Asking for a backend that
 * is not available is an error that carries its reason; there is never a silent fallback from a
 * requested GPU to the CPU. Only {@code "auto"} chooses, and it says what it chose.
 */
public final class Backends {
    private static volatile List<Backend> all;
    private static final ThreadLocal<Backend> CURRENT = new ThreadLocal<>();

    private Backends() {}

    /** Every backend on the class path, available or not, in priority order. */
    public static List<Backend> all() {
        List<Backend> a = all;
        if (a == null) {
            synchronized (Backends.class) {
                if (all == null) {
                    List<Backend> found = new ArrayList<>();
                    for (Backend b : ServiceLoader.load(Backend.class)) found.add(b);
                    found.sort(Comparator.comparingInt(Backend::priority));
                    all = List.copyOf(found);
                }
                a = all;
            }
        }
        return a;
    }

    public static List<Backend> available() {
        return all().stream().filter(b -> b.availability().available()).toList();
    }

    /**
     * "cpu", "cuda" or "auto". A named backend that is missing or unavailable throws
     * {@link BackendUnavailableException} naming what was looked for and why it failed.
     */
    public static Backend get(String name) {
        if (name.equals("auto")) {
            // a simulated device is for testing device code, never the fast choice
            List<Backend> av = available().stream().filter(b -> !b.simulated()).toList();
            if (av.isEmpty()) throw new BackendUnavailableException("auto", "no backend is available: " + reasons());
            return av.getFirst();
        }
        for (Backend b : all()) {
            if (b.name().equals(name)) {
                Availability av = b.availability();
                if (!av.available()) throw new BackendUnavailableException(name, av.reason());
                return b;
            }
        }
        throw new BackendUnavailableException(name, "no backend named '" + name + "' on the class path (found: "
                + all().stream().map(Backend::name).toList() + ")");
    }

    public static Backend cpu() { return get("cpu"); }

    /** One line per backend: name, available or not, and the reason. */
    public static String reasons() {
        StringBuilder sb = new StringBuilder();
        for (Backend b : all()) {
            Availability av = b.availability();
            if (!sb.isEmpty()) sb.append("; ");
            sb.append(b.name()).append(av.available() ? (b.simulated() ? " available, simulated: auto skips it (" : " available (") : " unavailable (")
                    .append(av.reason()).append(')');
        }
        return sb.toString();
    }

    /** The default backend of this thread for factory methods that take none (CPU unless set). */
    public static Backend current() {
        Backend b = CURRENT.get();
        return b != null ? b : cpu();
    }

    /** try (var u = Backends.use(cuda)) { ... } makes b this thread's default backend. */
    public static Use use(Backend b) {
        Backend prev = CURRENT.get();
        CURRENT.set(b);
        return () -> CURRENT.set(prev);
    }

    public interface Use extends AutoCloseable {
        @Override
        void close();
    }
}
