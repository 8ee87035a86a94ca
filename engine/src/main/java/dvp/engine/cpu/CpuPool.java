package dvp.engine.cpu;

import dvp.engine.Tensor;
import dvp.engine.spi.PoolSpec;

import java.lang.foreign.MemorySegment;

/** Max pooling (first maximum in window scan order wins, as PyTorch's CPU kernel) and global average pooling. */
final class CpuPool {
    private CpuPool() {}

    static void maxForward(Tensor x, Tensor y, Tensor argmax, PoolSpec p) {
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), ho = y.dim(2), wo = y.dim(3);
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y), sa = Mem.seg(argmax);
        long bx = Mem.base(x), by = Mem.base(y), ba = Mem.base(argmax);
        Parallel.range(planes, (lo, hi) -> {
            for (int pl = lo; pl < hi; pl++) {
                long xo = bx + 4L * pl * h * w;
                long yo = (long) pl * ho * wo;
                for (int oy = 0; oy < ho; oy++) {
                    for (int ox = 0; ox < wo; ox++) {
                        float best = Float.NEGATIVE_INFINITY;
                        int arg = -1;
                        for (int ky = 0; ky < p.kernel(); ky++) {
                            int iy = oy * p.stride() - p.pad() + ky;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < p.kernel(); kx++) {
                                int ix = ox * p.stride() - p.pad() + kx;
                                if (ix < 0 || ix >= w) continue;
                                float v = sx.get(Mem.F, xo + 4L * (iy * w + ix));
                                if (arg < 0 || v > best || Float.isNaN(v)) { // PyTorch: a NaN wins
                                    best = v;
                                    arg = iy * w + ix;
                                }
                            }
                        }
                        long idx = yo + (long) oy * wo + ox;
                        sy.set(Mem.F, by + 4 * idx, best);
                        sa.set(Mem.I, ba + 4 * idx, arg);
                    }
                }
            }
        });
    }

    static void maxBackward(Tensor dy, Tensor argmax, Tensor dx) {
        int planes = dx.dim(0) * dx.dim(1), hw = dx.dim(2) * dx.dim(3), ohw = dy.dim(2) * dy.dim(3);
        MemorySegment sd = Mem.seg(dy), sa = Mem.seg(argmax), so = Mem.seg(dx);
        long bd = Mem.base(dy), ba = Mem.base(argmax), bo = Mem.base(dx);
        Parallel.range(planes, (lo, hi) -> {
            for (int pl = lo; pl < hi; pl++) {
                long xo = bo + 4L * pl * hw;
                so.asSlice(xo, 4L * hw).fill((byte) 0);
                for (int i = 0; i < ohw; i++) {
                    long idx = (long) pl * ohw + i;
                    long at = xo + 4L * sa.get(Mem.I, ba + 4 * idx);
                    so.set(Mem.F, at, so.get(Mem.F, at) + sd.get(Mem.F, bd + 4 * idx));
                }
            }
        });
    }

    static void globalAvgForward(Tensor x, Tensor y) {
        int planes = x.dim(0) * x.dim(1);
        long hw = x.numel() / planes;
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y);
        long bx = Mem.base(x), by = Mem.base(y);
        Parallel.range(planes, 16, (lo, hi) -> {
            for (int pl = lo; pl < hi; pl++) {
                double acc = 0;
                long o = bx + 4 * pl * hw;
                for (long j = 0; j < hw; j++) acc += sx.get(Mem.F, o + 4 * j);
                sy.set(Mem.F, by + 4L * pl, (float) (acc / hw));
            }
        });
    }

    static void globalAvgBackward(Tensor dy, Tensor dx) {
        int planes = dx.dim(0) * dx.dim(1);
        long hw = dx.numel() / planes;
        MemorySegment sd = Mem.seg(dy), so = Mem.seg(dx);
        long bd = Mem.base(dy), bo = Mem.base(dx);
        Parallel.range(planes, 16, (lo, hi) -> {
            for (int pl = lo; pl < hi; pl++) {
                float v = sd.get(Mem.F, bd + 4L * pl) / hw;
                long o = bo + 4 * pl * hw;
                for (long j = 0; j < hw; j++) so.set(Mem.F, o + 4 * j, v);
            }
        });
    }
}
