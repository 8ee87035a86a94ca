package dvp.training.checkpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dvp.engine.Tensor;
import dvp.training.run.Json;

import java.util.Map;
import java.util.SequencedMap;

/**
 * Where a {@link Stateful} puts its state: tensors (stored in the checkpoint's tensor file under
 * {@code <prefix><name>}, e.g. {@code encoder_q.conv1.weight}) and JSON values (in
 * {@code checkpoint.json} under the component's name). Tensors are referenced, not copied: the
 * checkpointer writes them before the training step continues.
 */
public final class StateWriter {
    private final String prefix;
    private final SequencedMap<String, Tensor> tensors;
    private final ObjectNode node;

    StateWriter(String prefix, SequencedMap<String, Tensor> tensors, ObjectNode node) {
        this.prefix = prefix;
        this.tensors = tensors;
        this.node = node;
    }

    public StateWriter tensor(String name, Tensor t) {
        String key = prefix + name;
        if (tensors.putIfAbsent(key, t) != null) throw new IllegalStateException("checkpoint: tensor '" + key + "' saved twice");
        return this;
    }

    /** Every entry of a name→tensor map (a state dict). */
    public StateWriter tensors(Map<String, Tensor> named) {
        named.forEach(this::tensor);
        return this;
    }

    public StateWriter put(String name, long value) {
        node.put(name, value);
        return this;
    }

    public StateWriter put(String name, double value) {
        node.put(name, value);
        return this;
    }

    public StateWriter put(String name, boolean value) {
        node.put(name, value);
        return this;
    }

    public StateWriter put(String name, String value) {
        node.put(name, value);
        return this;
    }

    public StateWriter put(String name, long[] values) {
        ArrayNode a = node.putArray(name);
        for (long v : values) a.add(v);
        return this;
    }

    public StateWriter put(String name, int[] values) {
        ArrayNode a = node.putArray(name);
        for (int v : values) a.add(v);
        return this;
    }

    /** Any Jackson-serialisable value (a record, a list of class names, a config). */
    public StateWriter putObject(String name, Object value) {
        node.set(name, Json.tree(value));
        return this;
    }

    /** A nested namespace: tensors under {@code <prefix><name>.}, values under a JSON object {@code name}. */
    public StateWriter child(String name) {
        return new StateWriter(prefix + name + ".", tensors, node.putObject(name));
    }
}
