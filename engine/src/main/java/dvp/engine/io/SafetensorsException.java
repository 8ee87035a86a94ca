package dvp.engine.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that is malformed, or that asks for something dvp cannot represent (a sub-byte
 * dtype). The message always names the file and the one problem found first, e.g.
 * {@code cannot read safetensors file /ckpt/a.safetensors: tensor 'fc.weight': data_offsets [0, 400]
 * out of range: the data section has 200 bytes}.
 */
public final class SafetensorsException extends IOException {
    private final Path file;
    private final String problem;

    public SafetensorsException(Path file, String problem) {
        super("cannot read safetensors file " + file + ": " + problem);
        this.file = file;
        this.problem = problem;
    }

    public Path file() { return file; }

    /** The problem alone, without the file name. */
    public String problem() { return problem; }
}
