package dvp.training.model;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.Tensor;
import dvp.engine.io.SafetensorsWriter;
import dvp.engine.spi.Backend;
import dvp.nn.LoadOptions;
import dvp.nn.LoadReport;
import dvp.nn.Module;
import dvp.training.checkpoint.Checkpoint;
import dvp.training.checkpoint.CheckpointManifest;
import dvp.training.checkpoint.SafetensorsTensorFile;
import dvp.training.checkpoint.TensorFile;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exported models as files other phases and PyTorch can read (the training-level layer over
 * {@link dvp.nn.io.ModelFiles}, which reads and writes plain state dicts): one safetensors file with torchvision's
 * keys ({@code conv1.weight}, {@code layer1.0.bn1.running_mean}, ..., {@code fc.weight}) and
 * metadata naming the network ({@value #SPEC}: the {@link ModelSpec} as JSON), what the file holds
 * ({@value #KIND}), the class names ({@value #CLASSES}, JSON list) of a classifier and how its
 * input was prepared ({@value #INPUT}: {@link InputSpec} as JSON: image size, normalisation).
 *
 * <ul>
 *   <li>{@link Kind#BACKBONE}: everything but {@code fc.*} — phase 1's export (encoder_q without
 *       the MLP head, ALGORITHMS §2.6). torchvision's {@code resnet50().load_state_dict(sd, strict=False)}
 *       then reports only {@code fc.weight} and {@code fc.bias} missing.</li>
 *   <li>{@link Kind#CLASSIFIER}: the whole network including {@code fc} (a fine-tuned or distilled
 *       student; never the distillation connectors).</li>
 * </ul>
 *
 * {@link #read} also takes a dvp checkpoint (folder, {@code last}/{@code best} link or run folder):
 * it picks the part that holds the network ({@code student}, {@code model} or {@code encoder_q}).
 */
public final class ModelExports {
    public static final String SPEC = "dvp.model", KIND = "dvp.kind", CLASSES = "dvp.classes", INPUT = "dvp.input";
    /** Checkpoint parts holding a network, in the order {@link #read} looks for them. */
    public static final List<String> NETWORK_PARTS = List.of("student", "model", "encoder_q");

    public enum Kind { BACKBONE, CLASSIFIER }

    private ModelExports() {}

    /** Writes model's state dict (without fc.* for a backbone) atomically; input may be null. */
    public static void save(Path file, Module model, ModelSpec spec, Kind kind, List<String> classes, InputSpec input) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        if (input != null) w.metadata(INPUT, Json.MAPPER.writeValueAsString(input).replaceAll("\\s+", ""));
        w.metadata(SPEC, Json.MAPPER.writeValueAsString(spec).replaceAll("\\s+", ""));
        w.metadata(KIND, kind.name().toLowerCase(java.util.Locale.ROOT));
        if (kind == Kind.CLASSIFIER && classes != null) w.metadata(CLASSES, Json.MAPPER.writeValueAsString(classes).replaceAll("\\n\\s*", ""));
        for (var e : model.stateDict().entrySet())
            if (kind == Kind.CLASSIFIER || !e.getKey().startsWith("fc.")) w.put(e.getKey(), e.getValue());
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        w.write(file);
    }

    /**
     * Weights read from a file or checkpoint: torchvision keys → tensors (in the scope open while
     * reading), the network spec when the source records one, class names when it has a classifier.
     */
    public record Weights(Path source, String origin, ModelSpec spec, Kind kind, List<String> classes, InputSpec input,
                          Map<String, Tensor> tensors) {
        public boolean hasHead() { return tensors.containsKey("fc.weight"); }
    }

    /** Reads weights onto backend (in the current scope); every problem is one {@link BadInputException} line. */
    public static Weights read(Path path, Backend backend) {
        if (path == null) throw new BadInputException("no weights given");
        if (!Files.exists(path)) throw new BadInputException(path + ": no such model file, checkpoint or run folder");
        try {
            if (Files.isRegularFile(path) && !path.getFileName().toString().equals(Checkpoint.MANIFEST)) return readFile(path, backend);
            return readCheckpoint(path, backend);
        } catch (BadInputException e) {
            throw e;
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    /** What a weights file or checkpoint records about its network and input, without reading its tensors. */
    public record Recorded(String origin, ModelSpec spec, InputSpec input) {}

    /** The network and input that {@code path} (as {@link #read} takes it) records; either may be null. */
    public static Recorded recorded(Path path) {
        if (path == null || !Files.exists(path)) throw new BadInputException(path + ": no such model file, checkpoint or run folder");
        try {
            if (Files.isRegularFile(path) && !path.getFileName().toString().equals(Checkpoint.MANIFEST)) {
                Map<String, String> meta = dvp.nn.io.ModelFiles.metadata(path);
                return new Recorded(path.toString(), meta.containsKey(SPEC) ? parseSpec(meta.get(SPEC), path) : null,
                        meta.containsKey(INPUT) ? parse(meta.get(INPUT), InputSpec.class, INPUT, path) : null);
            }
            Path ckpt = Checkpoint.resolve(path);
            CheckpointManifest m = Checkpoint.manifest(ckpt);
            return new Recorded(ckpt.toString(), configPart(m, "model", ModelSpec.class), configPart(m, "input", InputSpec.class));
        } catch (BadInputException e) {
            throw e;
        } catch (IOException e) {
            throw new BadInputException(e.getMessage(), e);
        }
    }

    private static <T> T configPart(CheckpointManifest m, String key, Class<T> type) throws IOException {
        JsonNode n = m.config() == null ? null : m.config().get(key);
        return n != null && n.isObject() ? Json.MAPPER.treeToValue(n, type) : null;
    }

    /** A safetensors state dict (dvp's or PyTorch's; F16/BF16 widened by {@link dvp.nn.io.ModelFiles#read}) and its metadata. */
    private static Weights readFile(Path file, Backend backend) throws IOException {
        Map<String, String> meta = dvp.nn.io.ModelFiles.metadata(file);
        ModelSpec spec = meta.containsKey(SPEC) ? parseSpec(meta.get(SPEC), file) : null;
        List<String> classes = meta.containsKey(CLASSES) ? parseClasses(meta.get(CLASSES), file) : List.of();
        InputSpec input = meta.containsKey(INPUT) ? parse(meta.get(INPUT), InputSpec.class, INPUT, file) : null;
        Map<String, Tensor> t = new LinkedHashMap<>(dvp.nn.io.ModelFiles.read(file, backend));
        Kind kind = t.containsKey("fc.weight") ? Kind.CLASSIFIER : Kind.BACKBONE;
        return new Weights(file, file.toString(), spec, kind, classes, input, t);
    }

    private static Weights readCheckpoint(Path path, Backend backend) throws IOException {
        Path ckpt = Checkpoint.resolve(path);
        CheckpointManifest m = Checkpoint.manifest(ckpt);
        String part = null;
        for (String p : NETWORK_PARTS) if (m.state() != null && m.state().has(p)) { part = p; break; }
        if (part == null)
            throw new BadInputException(ckpt + ": the checkpoint holds no network (looked for parts " + NETWORK_PARTS + ")");
        ModelSpec spec = configPart(m, "model", ModelSpec.class);
        InputSpec input = configPart(m, "input", InputSpec.class);
        boolean mocoEncoder = part.equals("encoder_q");
        String prefix = part + ".";
        Map<String, Tensor> t = new LinkedHashMap<>();
        try (TensorFile.Reader r = SafetensorsTensorFile.INSTANCE.open(ckpt.resolve(m.tensorsFile()))) {
            for (String n : r.names()) {
                if (!n.startsWith(prefix)) continue;
                String key = n.substring(prefix.length());
                if (mocoEncoder && key.startsWith("fc.")) continue; // MoCo's MLP head is not part of the backbone
                t.put(key, r.read(n, backend));
            }
        }
        Kind kind = t.containsKey("fc.weight") ? Kind.CLASSIFIER : Kind.BACKBONE;
        List<String> classes = kind == Kind.CLASSIFIER && m.classNames() != null ? m.classNames() : List.of();
        return new Weights(ckpt, ckpt + " (" + part + ", step " + m.step() + ")", spec, kind, classes, input, t);
    }

    private static ModelSpec parseSpec(String json, Path file) { return parse(json, ModelSpec.class, SPEC, file); }

    private static <T> T parse(String json, Class<T> type, String key, Path file) {
        try {
            return Json.MAPPER.readValue(json, type);
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(file + ": metadata '" + key + "' is not a " + type.getSimpleName() + ": " + e.getMessage());
        }
    }

    private static List<String> parseClasses(String json, Path file) {
        try {
            return List.of(Json.MAPPER.readValue(json, String[].class));
        } catch (IOException e) {
            throw new BadInputException(file + ": metadata '" + CLASSES + "' is not a list of class names");
        }
    }

    /**
     * Loads a backbone (every key but {@code fc.*}; a DDP {@code module.} or MoCo {@code encoder_q.}
     * prefix is stripped) into target; target's fc keeps its own initialisation. Anything else
     * missing, unexpected or mismatched is an error naming the keys, and target is left unchanged.
     */
    public static LoadReport loadBackbone(Module target, Weights w) {
        LoadReport r = target.loadStateDict(w.tensors(), LoadOptions.nonStrict().stripPrefix("module.", "encoder_q.").dropPrefix("fc."));
        List<String> missing = new ArrayList<>(r.missing());
        missing.removeIf(k -> k.startsWith("fc."));
        if (!missing.isEmpty() || !r.unexpected().isEmpty() || !r.mismatched().isEmpty())
            throw new BadInputException(w.origin() + " does not fit the network: " + withoutFc(r, missing));
        return r;
    }

    /** Loads a whole classifier (fc included) strictly. */
    public static LoadReport loadClassifier(Module target, Weights w) {
        if (!w.hasHead()) throw new BadInputException(w.origin() + " holds a backbone without a classifier (fc); train one with finetune, linear-eval or distill first");
        LoadReport r = target.loadStateDict(w.tensors(), LoadOptions.nonStrict().stripPrefix("module."));
        if (!r.isComplete()) throw new BadInputException(w.origin() + " does not fit the network: " + r.describeProblems());
        return r;
    }

    private static String withoutFc(LoadReport r, List<String> missing) {
        LoadReport filtered = new LoadReport(missing, r.unexpected(), r.mismatched(), r.defaulted(), r.ignored(), r.loaded());
        return filtered.describeProblems();
    }
}
