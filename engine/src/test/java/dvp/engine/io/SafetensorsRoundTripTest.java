package dvp.engine.io;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsRoundTripTest {
    @TempDir Path dir;
    private Scope scope;
    private final Rng rng = new Rng(11);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    @Test void engineTensorsRoundTripBitExactly() throws IOException {
        Tensor w = randn(rng, 4, 3, 3, 3);
        Tensor n = Tensor.ofLongs(cpu(), new long[]{42}); // a rank-0 I64 like num_batches_tracked
        Tensor empty = Tensor.zeros(cpu(), 0, 5);
        Path p = dir.resolve("m.safetensors");
        new SafetensorsWriter().put("conv.weight", w).put("bn.num_batches_tracked", n).put("empty", empty)
                .metadata("format", "pt").metadata("note", "quotes \" and \\ and é and \n").write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt", "note", "quotes \" and \\ and é and \n"), f.metadata());
            Tensor w2 = f.tensor("conv.weight", cpu());
            assertEquals(DType.F32, w2.dtype());
            assertArrayEquals(w.shape(), w2.shape());
            assertArrayEquals(w.toFloatArray(), w2.toFloatArray());
            Tensor n2 = f.tensor("bn.num_batches_tracked", cpu());
            assertEquals(DType.I64, n2.dtype());
            assertEquals(0, n2.rank());
            assertArrayEquals(new long[]{42}, n2.toLongArray());
            assertArrayEquals(new int[]{0, 5}, f.tensor("empty", cpu()).shape());
            assertEquals(SafetensorsDType.I64, f.entry("bn.num_batches_tracked").dtype());
            assertEquals(0, f.entry("bn.num_batches_tracked").shape().length);
        }
    }

    @Test void stridedViewsArePackedInCOrder() throws IOException {
        Tensor a = Tensor.of(cpu(), new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
        Path p = dir.resolve("t.safetensors");
        new SafetensorsWriter().put("t", a.permute(1, 0)).put("row", a.narrow0(1, 1)).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[]{1, 4, 2, 5, 3, 6}, f.floats("t"));
            assertArrayEquals(new long[]{3, 2}, f.entry("t").shape());
            assertArrayEquals(new float[]{4, 5, 6}, f.floats("row"));
        }
    }

    @Test void f16AndBf16ConvertOnWriteAndWidenOnLoad() throws IOException {
        float[] v = rng.normal(257, 0, 3);
        v[0] = 1f / 3;
        v[1] = 65504f;
        v[2] = -0f;
        v[3] = Float.POSITIVE_INFINITY;
        Tensor t = Tensor.of(cpu(), v, 257);
        Path p = dir.resolve("h.safetensors");
        new SafetensorsWriter().put("h", t, SafetensorsDType.F16).put("b", t, SafetensorsDType.BF16)
                .putFloats("h2", v, SafetensorsDType.F16, 257).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(SafetensorsDType.F16, f.entry("h").dtype());
            assertEquals(SafetensorsDType.BF16, f.entry("b").dtype());
            float[] h = f.floats("h"), b = f.floats("b");
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h[i], "f16 element " + i);
                assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v[i])), b[i], "bf16 element " + i);
                if (Float.isFinite(v[i]) && Math.abs(v[i]) > 1e-3) {
                    assertTrue(Math.abs(h[i] - v[i]) <= Math.abs(v[i]) * 0x1p-11f, "f16 relative error within half an ulp");
                    assertTrue(Math.abs(b[i] - v[i]) <= Math.abs(v[i]) * 0x1p-8f, "bf16 relative error within half an ulp");
                }
            }
            assertArrayEquals(h, f.floats("h2"));
            assertArrayEquals(h, f.tensor("h", cpu()).toFloatArray(), "tensor() widens F16 to F32");
            Tensor kept = f.tensor("b", cpu(), DType.BF16);
            assertEquals(DType.BF16, kept.dtype(), "stored dtype kept on request");
            // F16 values written again as F16 are bit-identical: widening then narrowing is exact
            Path q = dir.resolve("h3.safetensors");
            new SafetensorsWriter().putFloats("h", h, SafetensorsDType.F16, 257).write(q);
            try (SafetensorsFile g = SafetensorsFile.open(q)) {
                assertEquals(f.bytes("h").mismatch(g.bytes("h")), -1L);
            }
        }
    }

    @Test void integerTypesLoadAsLongs() throws IOException {
        MemorySegment i16 = MemorySegment.ofArray(new short[]{-2, 3});
        MemorySegment u16 = MemorySegment.ofArray(new short[]{(short) 0xFFFF, 1});
        MemorySegment u32 = MemorySegment.ofArray(new int[]{0xFFFFFFFF, 5});
        MemorySegment i8 = MemorySegment.ofArray(new byte[]{-1, 7});
        assertEquals(ByteOrder.LITTLE_ENDIAN, ByteOrder.nativeOrder(), "these raw fixtures assume a little-endian host");
        Path p = dir.resolve("i.safetensors");
        new SafetensorsWriter()
                .putRaw("i16", SafetensorsDType.I16, new long[]{2}, i16)
                .putRaw("u16", SafetensorsDType.U16, new long[]{2}, u16)
                .putRaw("u32", SafetensorsDType.U32, new long[]{2}, u32)
                .putRaw("i8", SafetensorsDType.I8, new long[]{2}, i8)
                .putInts("i32", new int[]{-7, 8}, 2)
                .putBytes("u8", new byte[]{(byte) 200, 1}, 2)
                .putBooleans("flag", new boolean[]{true, false}, 2)
                .putDoubles("f64", new double[]{0.1, 1e300}, 2)
                .write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new long[]{-2, 3}, f.longs("i16"));
            assertArrayEquals(new long[]{65535, 1}, f.longs("u16"));
            assertArrayEquals(new long[]{4294967295L, 5}, f.longs("u32"));
            assertArrayEquals(new long[]{-1, 7}, f.longs("i8"));
            assertArrayEquals(new long[]{-7, 8}, f.longs("i32"));
            assertArrayEquals(new long[]{200, 1}, f.longs("u8"));
            assertArrayEquals(new long[]{1, 0}, f.longs("flag"));
            assertArrayEquals(new float[]{0.1f, Float.POSITIVE_INFINITY}, f.floats("f64"));
            assertEquals(DType.I32, f.tensor("i32", cpu()).dtype());
            assertEquals(DType.U8, f.tensor("u8", cpu()).dtype());
            assertArrayEquals(new long[]{-2, 3}, f.tensor("i16", cpu()).toLongArray(), "other integers load as I64");
            assertEquals(200, Byte.toUnsignedInt(f.bytes("u8").get(ValueLayout.JAVA_BYTE, 0)));

            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.floats("i32"));
            assertTrue(e.getMessage().endsWith("tensor \"i32\" is I32, which dvp cannot load as F32"), e.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> f.entry("nope"));
            assertTrue(missing.getMessage().contains("no tensor \"nope\" in safetensors file " + p), missing.getMessage());
        }
    }

    @Test void slicesAreInvalidAfterClose() throws IOException {
        Path p = dir.resolve("c.safetensors");
        new SafetensorsWriter().putFloats("w", new float[]{1}, 1).write(p);
        SafetensorsFile f = SafetensorsFile.open(p);
        Tensor copied = f.tensor("w", cpu());
        f.close();
        f.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> f.bytes("w"));
        assertArrayEquals(new float[]{1}, copied.toFloatArray(), "loaded tensors own their memory");
    }

    @Test void unicodeAndEscapedNamesRoundTrip() throws IOException {
        Path p = dir.resolve("u.safetensors");
        String odd = "layer\"1\".0/ü\tx";
        new SafetensorsWriter().putFloats(odd, new float[]{2}, 1).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[]{2}, f.floats(odd));
        }
    }
}
