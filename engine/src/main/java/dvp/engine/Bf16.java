package dvp.engine;

/**
 * bfloat16 bit patterns (the upper 16 bits of an IEEE float: sign, 8 exponent bits, 7 stored
 * significand bits) and the conversions the GPU's {@code cvt.rn.bf16.f32} and {@code cvt.f32.bf16}
 * instructions perform. The CPU reference of the F32 ↔ BF16 casts; the CUDA kernels use the
 * hardware conversions and must agree bit for bit (kernels/sim/shim/dvp_half.h is the simulator's
 * copy of the same rules, tested over all 65,536 patterns).
 */
public final class Bf16 {
    /** bf16's canonical quiet NaN, which {@code cvt.rn.bf16.f32} gives for every NaN input. */
    public static final short CANONICAL_NAN = 0x7FFF;

    /** Unit roundoff of round-to-nearest into bf16 (8 significand bits): 2^-8. */
    public static final double UNIT_ROUNDOFF = 0x1p-8;

    private Bf16() {}

    /**
     * float → bf16 bits, rounded to nearest, ties to even; values past bf16's largest finite
     * (which is above fp32's largest finite too, apart from the last half-ulp) round to ±infinity,
     * infinities stay, subnormals are rounded like normals (no flush), every NaN becomes
     * {@link #CANONICAL_NAN}.
     */
    public static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) return CANONICAL_NAN;
        int lower = u & 0xFFFF, upper = u >>> 16;
        if (lower > 0x8000 || (lower == 0x8000 && (upper & 1) != 0)) upper++;
        return (short) upper;
    }

    /** bf16 bits → float, exact (bf16 is a prefix of fp32). */
    public static float toFloat(short h) { return Float.intBitsToFloat((h & 0xFFFF) << 16); }

    /** f rounded to the nearest bf16 value, as a float (the value a bf16 cast keeps). */
    public static float round(float f) { return toFloat(fromFloat(f)); }
}
