package dvp.training.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dvp.engine.Scope;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads back what a {@link StateWriter} wrote. Tensors are copied into the caller's live tensors
 * ({@link #tensorInto}), which must have the stored shape and dtype; values come back exactly
 * (longs as longs, doubles bit for bit). Anything missing or mismatched is a
 * {@link CheckpointException} naming the checkpoint and the entry.
 */
public final class StateReader {
    private final Path checkpoint;
    private final String prefix;
    private final TensorFile.Reader file;
    private final Set<String> consumed;
    private final JsonNode node;

    StateReader(Path checkpoint, String prefix, TensorFile.Reader file, Set<String> consumed, JsonNode node) {
        this.checkpoint = checkpoint;
        this.prefix = prefix;
        this.file = file;
        this.consumed = consumed;
        this.node = node == null ? MissingNode.getInstance() : node;
    }

    public boolean hasTensor(String name) { return file.contains(prefix + name); }

    /** Copies the stored tensor into dst (same shape and dtype; any backend). */
    public void tensorInto(String name, Tensor dst) {
        String key = prefix + name;
        if (!file.contains(key)) throw new CheckpointException(checkpoint, "has no tensor '" + key + "'");
        int[] stored = file.shape(key);
        if (!Arrays.equals(stored, dst.shape()))
            throw new CheckpointException(checkpoint, "tensor '" + key + "' has shape " + Shape.str(stored)
                    + " but the model expects " + Shape.str(dst.shape()));
        try (Scope s = Scope.open("checkpoint-load")) {
            Tensor src = file.read(key, dst.backend());
            if (src.dtype() != dst.dtype())
                throw new CheckpointException(checkpoint, "tensor '" + key + "' is " + src.dtype() + " but the model expects " + dst.dtype());
            dst.copyFrom(src);
        } catch (IOException e) {
            throw new CheckpointException(checkpoint, "reading tensor '" + key + "': " + e.getMessage(), e);
        }
        consumed.add(key);
    }

    /** Loads every entry of a name→tensor map in place; all names must be stored. */
    public void tensorsInto(Map<String, Tensor> named) {
        List<String> missing = new ArrayList<>();
        for (String n : named.keySet()) if (!hasTensor(n)) missing.add(prefix + n);
        if (!missing.isEmpty())
            throw new CheckpointException(checkpoint, missing.size() + " tensor(s) missing: " + abbreviate(missing));
        named.forEach(this::tensorInto);
    }

    public boolean has(String name) { return node.has(name); }

    private JsonNode value(String name) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull())
            throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is missing");
        return v;
    }

    public long getLong(String name) {
        JsonNode v = value(name);
        if (!v.isIntegralNumber() || !v.canConvertToLong())
            throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is not a 64-bit integer: " + v);
        return v.longValue();
    }

    public int getInt(String name) {
        long v = getLong(name);
        if (v != (int) v) throw new CheckpointException(checkpoint, "state '" + prefix + name + "' does not fit an int: " + v);
        return (int) v;
    }

    public double getDouble(String name) {
        JsonNode v = value(name);
        if (v.isNumber()) return v.doubleValue();
        if (v.isTextual()) {
            switch (v.textValue()) {
                case "NaN": return Double.NaN;
                case "Infinity": return Double.POSITIVE_INFINITY;
                case "-Infinity": return Double.NEGATIVE_INFINITY;
                default: break;
            }
        }
        throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is not a number: " + v);
    }

    public boolean getBoolean(String name) {
        JsonNode v = value(name);
        if (!v.isBoolean()) throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is not a boolean: " + v);
        return v.booleanValue();
    }

    public String getString(String name) {
        JsonNode v = value(name);
        if (!v.isTextual()) throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is not a string: " + v);
        return v.textValue();
    }

    public long[] getLongs(String name) {
        JsonNode v = value(name);
        if (!v.isArray()) throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is not an array");
        long[] out = new long[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = v.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToLong())
                throw new CheckpointException(checkpoint, "state '" + prefix + name + "[" + i + "]' is not a 64-bit integer");
            out[i] = e.longValue();
        }
        return out;
    }

    public int[] getInts(String name) {
        long[] l = getLongs(name);
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] != (int) l[i]) throw new CheckpointException(checkpoint, "state '" + prefix + name + "[" + i + "]' does not fit an int");
            out[i] = (int) l[i];
        }
        return out;
    }

    /** A value written with {@link StateWriter#putObject}, read as type. */
    public <T> T getObject(String name, Class<T> type) {
        try {
            return Json.MAPPER.treeToValue(value(name), type);
        } catch (IOException e) {
            throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is not a " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    public JsonNode getNode(String name) { return value(name); }

    public StateReader child(String name) {
        JsonNode c = node.get(name);
        if (c == null || !c.isObject()) throw new CheckpointException(checkpoint, "state '" + prefix + name + "' is missing");
        return new StateReader(checkpoint, prefix + name + ".", file, consumed, c);
    }

    static String abbreviate(List<String> names) {
        return names.size() <= 8 ? names.toString() : names.subList(0, 8) + " and " + (names.size() - 8) + " more";
    }
}
