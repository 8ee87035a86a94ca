package dvp.engine.cpu;

import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Reductions. All accumulate in double and combine partial results in a fixed order that does
 * not depend on the thread count: sums over everything use fixed-size blocks; per-column and
 * per-channel sums give each output to exactly one thread, which walks its inputs in order.
 */
final class CpuReduce {
    static final int BLOCK = 8192;

    private CpuReduce() {}

    static void sumAll(Tensor x, Tensor out) {
        MemorySegment s = Mem.seg(x);
        long b = Mem.base(x);
        long n = x.numel();
        int blocks = Parallel.blocks(n, BLOCK);
        double[] partial = new double[blocks];
        Parallel.range(blocks, (lo, hi) -> {
            for (int k = lo; k < hi; k++) {
                long from = (long) k * BLOCK, to = Math.min(n, from + BLOCK);
                double acc = 0;
                for (long i = from; i < to; i++) acc += s.get(Mem.F, b + 4 * i);
                partial[k] = acc;
            }
        });
        double total = 0;
        for (double p : partial) total += p;
        Mem.seg(out).set(Mem.F, Mem.base(out), (float) total);
    }

    /** out[c] = sum_r x[r, c]. */
    static void sumRows(Tensor x, Tensor out) {
        int rows = x.dim(0), cols = (int) (x.numel() / rows);
        MemorySegment s = Mem.seg(x), so = Mem.seg(out);
        long b = Mem.base(x), bo = Mem.base(out);
        Parallel.range(cols, 64, (lo, hi) -> {
            double[] acc = new double[hi - lo];
            for (int r = 0; r < rows; r++) {
                long row = b + 4L * ((long) r * cols);
                for (int c = lo; c < hi; c++) acc[c - lo] += s.get(Mem.F, row + 4L * c);
            }
            for (int c = lo; c < hi; c++) so.set(Mem.F, bo + 4L * c, (float) acc[c - lo]);
        });
    }

    /** out[c] = sum over n, spatial of x (y == null) or of x*y. */
    static void channelReduce(Tensor x, Tensor y, Tensor out) {
        int n = x.dim(0), c = x.dim(1);
        long plane = x.numel() / ((long) n * c);
        MemorySegment sx = Mem.seg(x), sy = y == null ? null : Mem.seg(y), so = Mem.seg(out);
        long bx = Mem.base(x), by = y == null ? 0 : Mem.base(y), bo = Mem.base(out);
        Parallel.range(c, (lo, hi) -> {
            for (int ch = lo; ch < hi; ch++) {
                double acc = 0;
                for (int i = 0; i < n; i++) {
                    long o = ((long) i * c + ch) * plane;
                    if (sy == null) {
                        for (long j = 0; j < plane; j++) acc += sx.get(Mem.F, bx + 4 * (o + j));
                    } else {
                        for (long j = 0; j < plane; j++)
                            acc += (double) sx.get(Mem.F, bx + 4 * (o + j)) * sy.get(Mem.F, by + 4 * (o + j));
                    }
                }
                so.set(Mem.F, bo + 4L * ch, (float) acc);
            }
        });
    }
}
