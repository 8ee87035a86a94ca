package dvp.engine.io;

import java.util.Arrays;

/**
 * One tensor's header entry after validation: its bytes are {@code [begin, end)} of the data
 * section (the bytes after the header), little-endian, C order, and {@code end - begin ==
 * numel × dtype size} holds.
 */
public record SafetensorsEntry(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {
    public SafetensorsEntry {
        shape = shape.clone();
    }

    @Override public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d; // validated not to overflow
        return n;
    }

    public long byteLength() { return end - begin; }

    /** The shape as engine dims; every dimension must fit an int (engine tensors index with ints). */
    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) {
            if (shape[i] > Integer.MAX_VALUE)
                throw new IllegalArgumentException("tensor '" + name + "': dimension " + shape[i] + " of shape "
                        + Arrays.toString(shape) + " is too large for an engine tensor");
            s[i] = (int) shape[i];
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SafetensorsEntry e && name.equals(e.name) && dtype == e.dtype
                && Arrays.equals(shape, e.shape) && begin == e.begin && end == e.end;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() {
        return "'" + name + "' " + dtype + Arrays.toString(shape) + " at [" + begin + ", " + end + ")";
    }
}
