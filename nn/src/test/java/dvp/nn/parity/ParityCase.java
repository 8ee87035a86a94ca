package dvp.nn.parity;

import dvp.engine.Tensor;
import dvp.engine.io.SafetensorsEntry;
import dvp.engine.io.SafetensorsFile;
import dvp.engine.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * One parity case: dvp writes what torch needs (metadata naming the module and the runner, the
 * module's state dict under {@code state.}, inputs), {@link TorchOracle} runs it, and
 * {@link #run()} returns torch's results. Files live in {@code target/torch-parity/} and are
 * deleted after a passing comparison unless {@code -Ddvp.parity.keep=true}.
 */
final class ParityCase {
    final String name;
    private final SafetensorsWriter writer = new SafetensorsWriter();
    final Path in, out;

    private ParityCase(String name) {
        this.name = name;
        String slug = name.replaceAll("[^A-Za-z0-9._-]+", "_");
        this.in = TorchOracle.WORK.resolve(slug + ".in.safetensors");
        this.out = TorchOracle.WORK.resolve(slug + ".out.safetensors");
    }

    static ParityCase named(String name) { return new ParityCase(name); }

    ParityCase meta(String key, Object value) {
        writer.metadata(key, String.valueOf(value));
        return this;
    }

    ParityCase tensor(String key, Tensor t) {
        writer.put(key, t);
        return this;
    }

    ParityCase longs(String key, long[] values, int... shape) {
        writer.putLongs(key, values, shape);
        return this;
    }

    ParityCase bytes(String key, byte[] values, int... shape) {
        writer.putBytes(key, values, shape);
        return this;
    }

    /** A module's parameters and buffers under "state." (torch loads them with strict=True). */
    ParityCase state(Map<String, Tensor> stateDict) {
        stateDict.forEach((k, v) -> writer.put("state." + k, v));
        return this;
    }

    /** Writes the case, runs torch on it, reads back every result. */
    Reference run() throws IOException, InterruptedException {
        TorchOracle oracle = TorchOracle.get();
        Files.createDirectories(in.getParent());
        writer.write(in);
        double seconds = oracle.run(in, out);
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            Map<String, float[]> floats = new HashMap<>();
            Map<String, long[]> longs = new HashMap<>();
            Map<String, long[]> shapes = new HashMap<>();
            for (SafetensorsEntry e : f.entries()) {
                shapes.put(e.name(), e.shape());
                if (e.dtype().isFloating()) floats.put(e.name(), f.floats(e.name()));
                else longs.put(e.name(), f.longs(e.name()));
            }
            return new Reference(this, floats, longs, shapes, seconds, oracle.versions);
        }
    }

    /** Removes the case files (after a pass; failures keep them for inspection). */
    void cleanUp() throws IOException {
        if (Boolean.getBoolean("dvp.parity.keep")) return;
        Files.deleteIfExists(in);
        Files.deleteIfExists(out);
    }

    /** torch's results for one case. */
    record Reference(ParityCase parityCase, Map<String, float[]> floats, Map<String, long[]> longs,
                     Map<String, long[]> shapes, double torchSeconds, String torchVersions) {
        float[] floats(String key) {
            float[] v = floats.get(key);
            if (v == null) throw new IllegalArgumentException("torch returned no float tensor '" + key + "' (has " + shapes.keySet() + ")");
            return v;
        }

        long[] longs(String key) {
            long[] v = longs.get(key);
            if (v == null) throw new IllegalArgumentException("torch returned no integer tensor '" + key + "' (has " + shapes.keySet() + ")");
            return v;
        }

        boolean has(String key) { return shapes.containsKey(key); }
    }
}
