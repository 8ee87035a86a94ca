package dvp.engine.io;

import dvp.engine.DType;

import java.util.Set;

/**
 * The element types a safetensors file can name, with their byte sizes. Declared in the reference
 * implementation's order (increasing alignment; {@code safetensors/src/tensor.rs} {@code Dtype}),
 * because its writer orders tensors by this order descending, then by name, and we write the same
 * layout so every tensor starts aligned to its element size.
 */
public enum SafetensorsDType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), F8_E8M0(1), I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4), C64(8), F64(8), I64(8), U64(8);

    /** Named by the format but packed below one byte per element; we refuse them with a clear reason. */
    static final Set<String> SUB_BYTE_OR_EXOTIC = Set.of("F4", "F6_E2M3", "F6_E3M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ");

    private final int byteSize;

    SafetensorsDType(int byteSize) { this.byteSize = byteSize; }

    public int byteSize() { return byteSize; }

    /** Whether values of this type load as F32 (F16 and BF16 widen exactly; F64 rounds). */
    public boolean isFloating() { return this == F16 || this == BF16 || this == F32 || this == F64; }

    /** Whether values of this type load as I64 without loss ({@code U64} may not fit and is excluded). */
    public boolean isInteger() {
        return switch (this) {
            case BOOL, U8, I8, I16, U16, I32, U32, I64 -> true;
            default -> false;
        };
    }

    /** The file dtype for an engine dtype (every engine dtype has one). */
    public static SafetensorsDType of(DType d) {
        return switch (d) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            case I64 -> I64;
            case I32 -> I32;
            case U8 -> U8;
        };
    }

    /** The engine dtype with the same bytes, or null when the engine has none (then use a conversion). */
    public DType engineType() {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            case I64 -> DType.I64;
            case I32 -> DType.I32;
            case U8 -> DType.U8;
            default -> null;
        };
    }

    /** Parses the exact dtype string of a header; null when the string names no dtype we know. */
    static SafetensorsDType parse(String name) {
        for (SafetensorsDType t : values()) if (t.name().equals(name)) return t;
        return null;
    }
}
