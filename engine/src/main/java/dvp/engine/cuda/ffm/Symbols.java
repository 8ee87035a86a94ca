package dvp.engine.cuda.ffm;

import dvp.engine.ffm.NativeLibrary;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;

/**
 * Where {@link Cublas} and {@link Cudnn} take their functions from: a loaded library
 * ({@link #of(NativeLibrary)}), or any other lookup with the same contract (a test can hide
 * symbols to check that a library without them loses only the features that need them).
 */
public interface Symbols {
    /**
     * A downcall handle for {@code name}; a missing symbol throws
     * {@link NativeLibrary.LibraryNotFoundException} naming the symbol and the library.
     */
    MethodHandle function(String name, FunctionDescriptor fd);

    /** Where the library was loaded from, for messages. */
    String loadedFrom();

    static Symbols of(NativeLibrary lib) {
        return new Symbols() {
            @Override public MethodHandle function(String name, FunctionDescriptor fd) { return lib.function(name, fd); }

            @Override public String loadedFrom() { return lib.loadedFrom(); }
        };
    }
}
