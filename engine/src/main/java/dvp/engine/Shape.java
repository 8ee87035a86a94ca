package dvp.engine;

import java.util.Arrays;

/** Small helpers over {@code int[]} shapes. Shapes are never mutated after a tensor is made. */
public final class Shape {
    private Shape() {}

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Row-major (C-order) strides in elements. */
    public static long[] contiguousStrides(int... shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    public static String str(int... shape) { return Arrays.toString(shape); }

    public static int[] of(int... dims) { return dims.clone(); }

    /** Resolves one -1 entry of a reshape target against the element count. */
    public static int[] inferReshape(String op, int[] from, int[] to) {
        long n = numel(from);
        int infer = -1;
        long known = 1;
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": more than one -1 in target shape " + str(to));
                infer = i;
            } else {
                known *= to[i];
            }
        }
        int[] out = to.clone();
        if (infer >= 0) {
            if (known == 0 || n % known != 0)
                throw new IllegalArgumentException(op + ": cannot reshape " + str(from) + " to " + str(to));
            out[infer] = (int) (n / known);
        }
        if (numel(out) != n)
            throw new IllegalArgumentException(op + ": cannot reshape " + str(from) + " (" + n + " elements) to " + str(to));
        return out;
    }
}
