package dvp.training.checkpoint;

import dvp.engine.Tensor;
import dvp.engine.spi.Backend;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The file format that holds a checkpoint's named tensors (safetensors in production, see
 * {@link SafetensorsTensorFile}). Kept as a seam so checkpoint logic is tested independently of
 * the format and a format change touches one class.
 */
public interface TensorFile {
    /** The file name used inside a checkpoint folder. */
    String fileName();

    /** Writes all tensors (any backend; copied to the host) and string metadata to file. */
    void write(Path file, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) throws IOException;

    /** Opens file for reading; validates it (a corrupt file is an IOException naming it). */
    Reader open(Path file) throws IOException;

    interface Reader extends AutoCloseable {
        List<String> names();

        default boolean contains(String name) { return names().contains(name); }

        /** Shape of a stored tensor. */
        int[] shape(String name);

        /** The stored tensor with its stored dtype, allocated on backend in the current Scope. */
        Tensor read(String name, Backend backend) throws IOException;

        @Override
        void close();
    }
}
