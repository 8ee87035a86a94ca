package dvp.engine.cpu;

import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Element access for CPU kernels. Every accessor takes the tensor's element offset into account,
 * so kernels index from 0. Bulk copies between tensors and {@code float[]} are how the heavy
 * kernels (GEMM, conv) move data into on-heap working buffers.
 */
final class Mem {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;

    private Mem() {}

    static MemorySegment seg(Tensor t) { return ((CpuStorage) t.storage()).segment(); }

    /** Byte offset of element 0 of t inside its segment. */
    static long base(Tensor t) { return t.offset() * t.dtype().byteSize(); }

    /** Copies n floats of t starting at element 'from' into dst[dstOff..]. */
    static void read(Tensor t, long from, float[] dst, int dstOff, int n) {
        MemorySegment.copy(seg(t), F, base(t) + from * 4, dst, dstOff, n);
    }

    static float[] toArray(Tensor t) {
        float[] a = new float[(int) t.numel()];
        read(t, 0, a, 0, a.length);
        return a;
    }

    /** Copies src[srcOff..srcOff+n) into t starting at element 'to'. */
    static void write(float[] src, int srcOff, Tensor t, long to, int n) {
        MemorySegment.copy(src, srcOff, seg(t), F, base(t) + to * 4, n);
    }

    static float getF(Tensor t, long i) { return seg(t).get(F, base(t) + i * 4); }

    static long getL(Tensor t, long i) { return seg(t).get(L, base(t) + i * 8); }
}
