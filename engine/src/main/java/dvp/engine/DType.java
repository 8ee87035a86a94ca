package dvp.engine;

/**
 * Element types. F32 is the compute type of every primitive today; I64 holds labels and indices;
 * F16/BF16 exist so storage, checkpoints and the backend contract already name them (mixed
 * precision adds kernels, not new signatures). U8 holds decoded image bytes.
 */
public enum DType {
    F32(4, "F32"), F16(2, "F16"), BF16(2, "BF16"), I64(8, "I64"), I32(4, "I32"), U8(1, "U8");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() { return byteSize; }

    /** The dtype string the safetensors format uses ("F32", "BF16", ...). */
    public String safetensorsName() { return safetensorsName; }

    public boolean isFloating() { return this == F32 || this == F16 || this == BF16; }
}
