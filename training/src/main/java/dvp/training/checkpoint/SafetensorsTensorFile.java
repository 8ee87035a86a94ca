package dvp.training.checkpoint;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.io.SafetensorsEntry;
import dvp.engine.io.SafetensorsException;
import dvp.engine.io.SafetensorsFile;
import dvp.engine.io.SafetensorsWriter;
import dvp.engine.spi.Backend;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * Checkpoint tensors as one safetensors file ({@code tensors.safetensors}), every tensor in its own
 * dtype (no narrowing: a resume must be exact), readable by PyTorch's safetensors loader.
 */
public final class SafetensorsTensorFile implements TensorFile {
    public static final SafetensorsTensorFile INSTANCE = new SafetensorsTensorFile();

    private SafetensorsTensorFile() {}

    @Override
    public String fileName() { return "tensors.safetensors"; }

    @Override
    public void write(Path file, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata(metadata);
        tensors.forEach(w::put);
        w.write(file);
    }

    @Override
    public Reader open(Path file) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        return new Reader() {
            @Override
            public List<String> names() { return f.names(); }

            @Override
            public boolean contains(String name) { return f.contains(name); }

            @Override
            public int[] shape(String name) { return f.entry(name).intShape(); }

            @Override
            public Tensor read(String name, Backend backend) throws IOException {
                SafetensorsEntry e = f.entry(name);
                DType stored = e.dtype().engineType();
                if (stored == null) throw new SafetensorsException(file, "tensor '" + name + "' is " + e.dtype() + ", which no dvp tensor holds");
                return f.tensor(name, backend, stored);
            }

            @Override
            public void close() { f.close(); }
        };
    }
}
