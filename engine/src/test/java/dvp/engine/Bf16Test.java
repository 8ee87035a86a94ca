package dvp.engine;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link Bf16}, the reference of every bf16 cast, against an independent formulation of
 * round-to-nearest-even: the two bf16 neighbours of f (truncation and the next pattern away from
 * zero) and the nearer one by exact double arithmetic, ties to the even pattern.
 */
class Bf16Test {
    /** Independent: choose between the truncated pattern and the next one by distance. */
    private static short nearestEven(float f) {
        if (Float.isNaN(f)) return 0x7FFF;
        int bits = Float.floatToRawIntBits(f);
        int down = bits >>> 16, up = down + 1;
        if ((bits & 0xFFFF) == 0) return (short) down;
        double a = Math.abs(f), lo = Math.abs(Bf16.toFloat((short) down));
        // the pattern after the largest finite bf16 (0x7F7F) is infinity: its distance counts as if it were 2^128
        double hi = (up & 0x7FFF) == 0x7F80 ? Math.scalb(1.0, 128) : Math.abs(Bf16.toFloat((short) up));
        double dLo = a - lo, dHi = hi - a;
        if (dLo < dHi) return (short) down;
        if (dHi < dLo) return (short) up;
        return (short) ((down & 1) == 0 ? down : up);
    }

    @Test
    void roundsToNearestEvenLikeAnIndependentFormulation() {
        SplittableRandom r = new SplittableRandom(18);
        for (int i = 0; i < 2_000_000; i++) {
            float f = Float.intBitsToFloat(r.nextInt());
            assertEquals(nearestEven(f), Bf16.fromFloat(f), () -> "bits 0x" + Integer.toHexString(Float.floatToRawIntBits(f)));
        }
        // every tie and its neighbours, over all exponents and both signs
        for (int hi = 0; hi < 0x10000; hi++) {
            for (int lo : new int[]{0x7FFF, 0x8000, 0x8001, 0, 0xFFFF}) {
                float f = Float.intBitsToFloat((hi << 16) | lo);
                assertEquals(nearestEven(f), Bf16.fromFloat(f), () -> "bits 0x" + Integer.toHexString(Float.floatToRawIntBits(f)));
            }
        }
    }

    @Test
    void specialValuesFollowCvtRn() {
        assertEquals(Bf16.CANONICAL_NAN, Bf16.fromFloat(Float.intBitsToFloat(0xFF80_0001)), "every NaN becomes 0x7FFF");
        assertEquals((short) 0x7F80, Bf16.fromFloat(Float.MAX_VALUE), "fp32's largest rounds up into infinity");
        assertEquals((short) 0x7F7F, Bf16.fromFloat(Float.intBitsToFloat(0x7F7F_7FFF)), "just below the tie: bf16's largest");
        assertEquals((short) 0x8000, Bf16.fromFloat(-0f));
        assertEquals((short) 0x0001, Bf16.fromFloat(Float.intBitsToFloat(0x0000_8001)), "subnormals round, never flush");
        assertEquals((short) 0x0000, Bf16.fromFloat(Float.intBitsToFloat(0x0000_8000)), "subnormal tie to even (0)");
        for (int h = 0; h < 0x10000; h++) {
            float f = Bf16.toFloat((short) h);
            assertEquals(h << 16, Float.floatToRawIntBits(f), "widening is exact");
            if (!Float.isNaN(f)) assertEquals((short) h, Bf16.fromFloat(f), "a bf16 value is kept");
        }
    }
}
