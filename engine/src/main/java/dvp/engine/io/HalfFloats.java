package dvp.engine.io;

/**
 * F16 and BF16 conversions with PyTorch's rounding. Widening (16 → 32 bits) is exact; narrowing
 * rounds to nearest, ties to even. F16 uses the JDK's IEEE binary16 conversions. BF16 is the top
 * half of an F32; narrowing follows c10::BFloat16 ({@code round_to_nearest_even}): NaN becomes the
 * canonical quiet NaN 0x7FC0, everything else rounds on the dropped 16 bits, overflowing to ±inf.
 */
public final class HalfFloats {
    private HalfFloats() {}

    public static float f16ToFloat(short bits) { return Float.float16ToFloat(bits); }

    public static short floatToF16(float f) { return Float.floatToFloat16(f); }

    public static float bf16ToFloat(short bits) { return Float.intBitsToFloat((bits & 0xFFFF) << 16); }

    public static short floatToBf16(float f) {
        if (Float.isNaN(f)) return (short) 0x7FC0;
        int bits = Float.floatToRawIntBits(f);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
