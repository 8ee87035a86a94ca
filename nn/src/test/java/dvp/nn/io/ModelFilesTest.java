package dvp.nn.io;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.io.HalfFloats;
import dvp.engine.io.SafetensorsDType;
import dvp.engine.io.SafetensorsException;
import dvp.engine.io.SafetensorsFile;
import dvp.engine.io.SafetensorsWriter;
import dvp.nn.LoadOptions;
import dvp.nn.LoadReport;
import dvp.nn.StateDictException;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelFilesTest {
    @TempDir Path dir;
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open("model-files"); }

    @AfterEach void close() { scope.close(); }

    private static ResNet tiny(long seed) {
        return ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(0.125).numClasses(7).smallStem(true).build(new Rng(seed));
    }

    @Test void saveThenLoadReproducesTheModelExactly() throws IOException {
        ResNet a = tiny(1);
        try (var g = GradMode.noGrad()) {
            a.train();
            a.forward(randn(new Rng(5), 2, 3, 16, 16)); // moves running stats and num_batches_tracked off their init
        }
        Path file = dir.resolve("a.safetensors");
        ModelFiles.save(a, file, Map.of("arch", "resnet18"));
        assertEquals(Map.of("format", "pt", "arch", "resnet18"), ModelFiles.metadata(file));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(a.stateDict().size(), f.size(), "one entry per state-dict key (122 for a ResNet-18)");
            assertEquals(122, f.size());
            assertEquals(SafetensorsDType.I64, f.entry("bn1.num_batches_tracked").dtype());
            assertEquals(0, f.entry("bn1.num_batches_tracked").rank(), "num_batches_tracked is a scalar as in torch");
            assertArrayEquals(new long[]{7, 64 / 8 * 8}, f.entry("fc.weight").shape(), "fc.weight is [out, in]");
        }

        ResNet b = tiny(2);
        LoadReport r = ModelFiles.load(b, file);
        assertTrue(r.isComplete(), r.toString());
        assertEquals(122, r.loaded().size());
        Map<String, Tensor> sa = a.stateDict(), sb = b.stateDict();
        for (String k : sa.keySet()) {
            if (sa.get(k).dtype() == DType.I64) assertArrayEquals(sa.get(k).toLongArray(), sb.get(k).toLongArray(), k);
            else assertArrayEquals(sa.get(k).toFloatArray(), sb.get(k).toFloatArray(), k);
        }
        assertEquals(1, ((dvp.nn.BatchNorm2d) b.module("bn1")).numBatchesTracked());
        Tensor x = randn(new Rng(9), 2, 3, 16, 16);
        a.eval();
        b.eval();
        try (var g = GradMode.noGrad()) {
            assertArrayEquals(a.forward(x).toFloatArray(), b.forward(x).toFloatArray());
        }
        assertEquals(0, Files.list(dir).filter(p -> p.getFileName().toString().endsWith(".tmp")).count());
    }

    @Test void halfPrecisionFilesWidenOnLoad() throws IOException {
        ResNet a = tiny(3);
        Path file = dir.resolve("bf16.safetensors");
        ModelFiles.save(a, file, Map.of(), SafetensorsDType.BF16);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(SafetensorsDType.BF16, f.entry("conv1.weight").dtype());
            assertEquals(SafetensorsDType.I64, f.entry("bn1.num_batches_tracked").dtype(), "integer buffers keep their dtype");
        }
        ResNet b = tiny(4);
        ModelFiles.load(b, file);
        float[] w = a.tensor("layer1.0.conv1.weight").toFloatArray(), got = b.tensor("layer1.0.conv1.weight").toFloatArray();
        for (int i = 0; i < w.length; i++) assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(w[i])), got[i]);
    }

    @Test void strictFailureNamesTheFileAndTheKeys() throws IOException {
        ResNet a = tiny(5);
        Path file = dir.resolve("partial.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        a.stateDict().forEach((k, v) -> {
            if (!k.startsWith("fc.")) w.put(k, v);
        });
        w.putFloats("extra.weight", new float[]{1}, 1);
        w.write(file);
        StateDictException e = assertThrows(StateDictException.class, () -> ModelFiles.load(tiny(6), file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("fc.weight") && e.getMessage().contains("fc.bias") && e.getMessage().contains("extra.weight"), e.getMessage());

        LoadReport r = ModelFiles.load(tiny(6), file, LoadOptions.nonStrict());
        assertEquals(List.of("fc.weight", "fc.bias"), r.missing());
        assertEquals(List.of("extra.weight"), r.unexpected());
    }

    @Test void prefixedCheckpointsLoadWithStripping() throws IOException {
        ResNet a = tiny(7);
        Path file = dir.resolve("ddp.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        a.stateDict().forEach((k, v) -> w.put("module.encoder_q." + k, v));
        w.write(file);
        ResNet b = tiny(8);
        assertTrue(ModelFiles.load(b, file, LoadOptions.strict().stripPrefix("module.", "encoder_q.")).isComplete());
        assertArrayEquals(a.tensor("fc.weight").toFloatArray(), b.tensor("fc.weight").toFloatArray());
    }

    @Test void corruptFilesAreRefusedByName() throws IOException {
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, new byte[]{1, 2, 3});
        ResNet m = tiny(9);
        float[] before = m.tensor("conv1.weight").toFloatArray();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> ModelFiles.load(m, file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertArrayEquals(before, m.tensor("conv1.weight").toFloatArray(), "a refused file changes nothing");
    }
}
