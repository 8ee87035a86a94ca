package dvp.cli;

import dvp.engine.spi.BackendUnavailableException;
import dvp.training.checkpoint.CheckpointException;
import dvp.training.run.NonFiniteLossException;
import dvp.training.run.RunInterruptedException;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ExitCodesTest {
    static final class CudaOutOfMemoryException extends RuntimeException {
        CudaOutOfMemoryException() { super("cudaMalloc 2.0 GiB failed: 1.1 GiB free of 80 GiB"); }
    }

    @Test
    void eachKindOfFailureHasItsCode() {
        assertEquals(5, ExitCodes.of(new RunInterruptedException(3, Path.of("c"))));
        assertEquals(6, ExitCodes.of(new NonFiniteLossException(3, "loss", Double.NaN, Optional.empty())));
        assertEquals(3, ExitCodes.of(new BackendUnavailableException("cuda", "no libcuda.so.1")));
        assertEquals(4, ExitCodes.of(new OutOfMemoryError()));
        assertEquals(4, ExitCodes.of(new CudaOutOfMemoryException()));
        assertEquals(2, ExitCodes.of(new CheckpointException(Path.of("c"), "corrupt")));
        assertEquals(2, ExitCodes.of(new UncheckedIOException(new NoSuchFileException("x"))));
        assertEquals(1, ExitCodes.of(new IllegalStateException("bug")));
        // the cause chain decides: a wrapped NaN stop is still a NaN stop
        assertEquals(6, ExitCodes.of(new RuntimeException("step failed", new NonFiniteLossException(3, "loss", 1 / 0.0, Optional.empty()))));
    }

    @Test
    void messagesAreOneLine() {
        assertEquals("a; b", ErrorReporting.oneLine("a\n  b\n"));
        assertEquals("out of memory: cudaMalloc 2.0 GiB failed: 1.1 GiB free of 80 GiB (use a smaller batch; the Java heap can be raised with DVP_JAVA_OPTS=-Xmx...)",
                ErrorReporting.message(new CudaOutOfMemoryException(), 4));
    }
}
