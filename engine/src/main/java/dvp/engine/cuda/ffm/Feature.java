package dvp.engine.cuda.ffm;

import dvp.engine.ffm.NativeLibrary;

import java.util.function.Supplier;

/**
 * The functions one feature of a library needs (cuDNN's convolutions, cuDNN's batch norm, cuBLAS's
 * batched GEMM, ...), bound together on first use. A library that lacks one of them (an older or
 * newer version; cuDNN's legacy API is deprecated in 9.x) loses only that feature: its first use
 * throws {@link FeatureUnavailableException} naming the feature, the missing symbol and the library,
 * while every other feature keeps working. The outcome of the first attempt is kept.
 */
public final class Feature<T> {
    private final String library, name;
    private final Supplier<T> bind;
    private T functions;
    private FeatureUnavailableException failure;

    Feature(String library, String name, Supplier<T> bind) {
        this.library = library;
        this.name = name;
        this.bind = bind;
    }

    /** The bound functions; binds them on the first call. */
    public synchronized T get() {
        if (functions != null) return functions;
        if (failure == null) {
            try {
                functions = bind.get();
                return functions;
            } catch (NativeLibrary.LibraryNotFoundException | IllegalArgumentException e) {
                failure = new FeatureUnavailableException(library + " " + name + " is unavailable: " + e.getMessage(), e);
            }
        }
        throw failure;
    }

    /** Whether the feature's functions are all there (binds them if that was not tried yet). */
    public boolean available() {
        try {
            get();
            return true;
        } catch (FeatureUnavailableException e) {
            return false;
        }
    }

    public String name() { return name; }

    /** "available", or why not. */
    public String status() {
        try {
            get();
            return "available";
        } catch (FeatureUnavailableException e) {
            return e.getMessage();
        }
    }

    /** A feature of cuBLAS or cuDNN is missing from the loaded library; the message names it and the symbol. */
    public static final class FeatureUnavailableException extends RuntimeException {
        public FeatureUnavailableException(String message, Throwable cause) { super(message, cause); }
    }
}
