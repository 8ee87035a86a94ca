package dvp.nn.io;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.io.SafetensorsDType;
import dvp.engine.io.SafetensorsEntry;
import dvp.engine.io.SafetensorsFile;
import dvp.engine.io.SafetensorsWriter;
import dvp.engine.spi.Backend;
import dvp.nn.LoadOptions;
import dvp.nn.LoadReport;
import dvp.nn.Module;
import dvp.nn.StateDictException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A model's state dict as a plain safetensors file with torchvision's keys ({@code conv1.weight},
 * {@code layer1.0.bn1.running_mean}, {@code fc.weight}, ...), the file PyTorch users exchange: what
 * dvp writes loads into {@code torchvision.models.resnet50()} with {@code strict=True} (after
 * {@code safetensors.torch.load_file}), and a state dict saved from torchvision loads here.
 *
 * <p>Saving keeps every tensor's dtype (F32 weights, I64 {@code num_batches_tracked}) unless
 * floating tensors are asked to be narrowed to F16/BF16 (round to nearest even) for distribution.
 * Loading widens F16/BF16 (exactly) and F64 (rounded) to F32; key handling (strict or not,
 * {@code module.}/{@code encoder_q.} prefixes, dropped heads) is {@link Module#loadStateDict}'s.
 * For whole training runs (optimizer state, RNG, epoch) see the training module's checkpoints.
 */
public final class ModelFiles {
    private ModelFiles() {}

    /** Metadata every file gets: the safetensors convention for PyTorch state dicts. */
    public static final Map<String, String> DEFAULT_METADATA = Map.of("format", "pt");

    /** Writes {@code m.stateDict()} atomically, every tensor in its own dtype. */
    public static void save(Module m, Path file) throws IOException { save(m, file, Map.of()); }

    /** As {@link #save(Module, Path)} with extra {@code __metadata__} entries (e.g. the architecture). */
    public static void save(Module m, Path file, Map<String, String> metadata) throws IOException {
        save(m, file, metadata, null);
    }

    /**
     * As {@link #save(Module, Path, Map)}, storing floating tensors as {@code floatsAs} (F16 or BF16,
     * or null to keep F32); integer buffers keep their dtype.
     */
    public static void save(Module m, Path file, Map<String, String> metadata, SafetensorsDType floatsAs) throws IOException {
        if (floatsAs != null && floatsAs != SafetensorsDType.F16 && floatsAs != SafetensorsDType.BF16 && floatsAs != SafetensorsDType.F32)
            throw new IllegalArgumentException("ModelFiles.save: floating tensors can be stored as F32, F16 or BF16, not " + floatsAs);
        SafetensorsWriter w = new SafetensorsWriter().metadata(DEFAULT_METADATA).metadata(metadata);
        for (var e : m.stateDict().entrySet()) {
            Tensor t = e.getValue();
            if (floatsAs != null && t.dtype().isFloating()) w.put(e.getKey(), t, floatsAs);
            else w.put(e.getKey(), t);
        }
        w.write(file);
    }

    /**
     * Every tensor of a safetensors file, in file order, allocated on {@code backend} in the current
     * {@link Scope}: floating tensors as F32, I32/U8 as stored, other integers as I64.
     */
    public static SequencedMap<String, Tensor> read(Path file, Backend backend) throws IOException {
        SequencedMap<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (SafetensorsEntry e : f.entries()) out.put(e.name(), f.tensor(e.name(), backend));
        }
        return out;
    }

    /** The {@code __metadata__} of a safetensors file (validated like any other read). */
    public static Map<String, String> metadata(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata();
        }
    }

    /** Loads the file into {@code m} strictly: any missing, unexpected or mismatched key is an error naming the file. */
    public static LoadReport load(Module m, Path file) throws IOException { return load(m, file, LoadOptions.strict()); }

    /**
     * Loads the file into {@code m}'s parameters and buffers in place, as {@link Module#loadStateDict}
     * with these options. The file's tensors are staged on the backend of {@code m}'s first tensor
     * and freed before returning. A strict failure is a {@link StateDictException} whose message
     * starts with the file name.
     */
    public static LoadReport load(Module m, Path file, LoadOptions options) throws IOException {
        Map<String, Tensor> own = m.stateDict();
        if (own.isEmpty()) throw new IllegalArgumentException("ModelFiles.load: " + m.getClass().getSimpleName() + " has no parameters or buffers");
        Backend backend = own.values().iterator().next().backend();
        try (Scope staging = Scope.open("model-file")) {
            Map<String, Tensor> source = read(file, backend);
            try {
                return m.loadStateDict(source, options);
            } catch (StateDictException e) {
                throw new StateDictException(file + ": " + e.getMessage(), e.report());
            }
        }
    }
}
