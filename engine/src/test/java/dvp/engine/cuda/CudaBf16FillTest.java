package dvp.engine.cuda;

import dvp.engine.Bf16;
import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A BF16 fill on the CUDA backend writes the bits the F32→BF16 cast gives for the same value
 * (cvt.rn.bf16.f32, whose reference is {@link Bf16#fromFloat}): nearest, ties to even, overflow to
 * infinity, and every NaN, whatever its sign and payload, the canonical 0x7FFF. The fill value is
 * converted on the host ({@link CudaCopy#toBf16}), so that conversion is checked against the
 * reference over a sweep of bit patterns, and the device fill against the device cast.
 */
class CudaBf16FillTest {
    /** Rounding corners (ties either way, just off a tie, overflow, subnormals) and NaNs with payloads and either sign. */
    private static final int[] CORNERS = {
            0x0000_0000, 0x8000_0000, 0x3F80_0000, 0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0x3F80_7FFF,
            0x7F7F_7FFF, 0x7F7F_8000, 0x7F7F_FFFF, 0x7F80_0000, 0xFF80_0000, 0x0000_8000, 0x0001_8000, 0x807F_FFFF,
            0x7FC0_0000, 0xFFC0_0000, 0x7FC0_0001, 0x7F80_0001, 0xFF80_0001, 0x7F80_8000, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x7FA0_0000,
    };

    @Test
    void theFillValueIsRoundedAsTheReferenceCastRoundsIt() {
        for (int bits : CORNERS) assertBits(bits);
        // every upper half with the lower halves that decide the rounding: 0, below, at and above the tie, all ones
        for (int upper = 0; upper < 0x10000; upper++)
            for (int lower : new int[]{0, 0x7FFF, 0x8000, 0x8001, 0xFFFF}) assertBits(upper << 16 | lower);
    }

    private static void assertBits(int bits) {
        float v = Float.intBitsToFloat(bits);
        assertEquals(Bf16.fromFloat(v), CudaCopy.toBf16(v), () -> "fill value 0x" + Integer.toHexString(bits));
    }

    @Test
    void aDeviceFillHoldsTheBitsOfTheDeviceCast() {
        CudaBackend cuda = CudaTesting.cuda();
        double[] values = {Double.NaN, -Double.NaN, 1.0 + 0x1p-8, 1.0 + 0x1p-8 + 0x1p-7, 1e39, -3.75, 0x1p-140};
        try (Scope s = Scope.open("bf16 fill")) {
            for (double value : values) {
                Tensor filled = Tensor.empty(cuda, DType.BF16, 5);
                cuda.fill(filled, value);
                Tensor cast = Tensor.empty(cuda, DType.BF16, 5);
                cuda.cast(Tensor.full(cuda, (float) value, 5), cast);
                short[] got = bits(filled), want = bits(cast);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(want[i], got[i], "fill(" + value + ") vs cast at " + i);
                    assertEquals(Bf16.fromFloat((float) value), got[i], "fill(" + value + ") vs Bf16.fromFloat at " + i);
                }
            }
        }
    }

    private static short[] bits(Tensor t) {
        short[] out = new short[(int) t.numel()];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(2L * out.length, 8);
            t.backend().copyToHost(t, seg);
            MemorySegment.copy(seg, ValueLayout.JAVA_SHORT, 0, out, 0, out.length);
        }
        return out;
    }
}
