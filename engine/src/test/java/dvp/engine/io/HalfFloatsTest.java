package dvp.engine.io;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfFloatsTest {
    @Test void everyF16AndBf16ValueSurvivesWideningAndNarrowing() {
        for (int b = 0; b < 0x10000; b++) {
            short bits = (short) b;
            float f16 = HalfFloats.f16ToFloat(bits);
            if (Float.isNaN(f16)) assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f16))));
            else assertEquals(bits, HalfFloats.floatToF16(f16), "f16 bits " + Integer.toHexString(b));
            float bf = HalfFloats.bf16ToFloat(bits);
            if (Float.isNaN(bf)) assertEquals((short) 0x7FC0, HalfFloats.floatToBf16(bf));
            else assertEquals(bits, HalfFloats.floatToBf16(bf), "bf16 bits " + Integer.toHexString(b));
        }
    }

    @Test void knownValues() {
        assertEquals((short) 0x3C00, HalfFloats.floatToF16(1f));
        assertEquals((short) 0xC000, HalfFloats.floatToF16(-2f));
        assertEquals((short) 0x7BFF, HalfFloats.floatToF16(65504f));
        assertEquals((short) 0x7C00, HalfFloats.floatToF16(65520f), "rounds up to +inf past the largest half");
        assertEquals((short) 0x3F80, HalfFloats.floatToBf16(1f));
        assertEquals((short) 0xC040, HalfFloats.floatToBf16(-3f));
        assertEquals(1f / 3f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1f / 3f)), 1f / 256);
    }

    @Test void narrowingRoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between bf16 1.0 (even mantissa) and 1 + 2^-7: ties go to even
        assertEquals((short) 0x3F80, HalfFloats.floatToBf16(1f + 0x1p-8f));
        // 1 + 3*2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up to even
        assertEquals((short) 0x3F82, HalfFloats.floatToBf16(1f + 3 * 0x1p-8f));
        // just above the tie rounds up
        assertEquals((short) 0x3F81, HalfFloats.floatToBf16(Math.nextUp(1f + 0x1p-8f)));
        // F16: 1 + 2^-11 is the tie between 1.0 and 1 + 2^-10
        assertEquals((short) 0x3C00, HalfFloats.floatToF16(1f + 0x1p-11f));
        assertEquals((short) 0x3C02, HalfFloats.floatToF16(1f + 3 * 0x1p-11f));
        // bf16 overflow goes to infinity like PyTorch
        assertEquals((short) 0x7F80, HalfFloats.floatToBf16(Float.MAX_VALUE));
    }
}
