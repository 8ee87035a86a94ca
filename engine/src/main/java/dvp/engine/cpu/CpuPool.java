package dvp.engine.cpu;

import dvp.engine.Tensor;
import dvp.engine.spi.PoolSpec;

import java.lang.foreign.MemorySegment;

/** Max pooling (first maximum in window scan order wins, as PyTorch's CPU kernel) and global average pooling. */
final class CpuPool {
    private CpuPool() {}

    static void maxForward(Tensor x, Tensor y, Tensor argmax, PoolSpec p) {
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), ho = y.dim(2), wo = y.dim(3);
        int k = p.kernel(), s = p.stride(), pad = p.pad();
        MemorySegment sx = Mem.seg(x), sy = Mem.seg(y), sa = Mem.seg(argmax);
        long bx = Mem.base(x), by = Mem.base(y), ba = Mem.base(argmax);
        Parallel.range(planes, (lo, hi) -> {
            float[] in = new float[h * w], out = new float[ho * wo];
            int[] arg = new int[ho * wo];
            for (int pl = lo; pl < hi; pl++) {
                MemorySegment.copy(sx, Mem.F, bx + 4L * pl * h * w, in, 0, in.length);
                for (int oy = 0; oy < ho; oy++) {
                    int yLo = Math.max(0, oy * s - pad), yHi = Math.min(h, oy * s - pad + k);
                    for (int ox = 0; ox < wo; ox++) {
                        int xLo = Math.max(0, ox * s - pad), xHi = Math.min(w, ox * s - pad + k);
                        int at = yLo * w + xLo;
                        float best = in[at];
                        for (int iy = yLo; iy < yHi; iy++)
                            for (int ix = xLo; ix < xHi; ix++) {
                                float v = in[iy * w + ix];
                                if (v > best || Float.isNaN(v)) { // PyTorch: a NaN wins (the last one in scan order)
                                    best = v;
                                    at = iy * w + ix;
                                }
                            }
                        out[oy * wo + ox] = best;
                        arg[oy * wo + ox] = at;
                    }
                }
                MemorySegment.copy(out, 0, sy, Mem.F, by + 4L * pl * ho * wo, out.length);
                MemorySegment.copy(arg, 0, sa, Mem.I, ba + 4L * pl * ho * wo, arg.length);
            }
        });
    }

    static void maxBackward(Tensor dy, Tensor argmax, Tensor dx) {
        int planes = dx.dim(0) * dx.dim(1), hw = dx.dim(2) * dx.dim(3), ohw = dy.dim(2) * dy.dim(3);
        MemorySegment sd = Mem.seg(dy), sa = Mem.seg(argmax), so = Mem.seg(dx);
        long bd = Mem.base(dy), ba = Mem.base(argmax), bo = Mem.base(dx);
        Parallel.range(planes, (lo, hi) -> {
            float[] grad = new float[ohw], out = new float[hw];
            int[] arg = new int[ohw];
            for (int pl = lo; pl < hi; pl++) {
                MemorySegment.copy(sd, Mem.F, bd + 4L * pl * ohw, grad, 0, ohw);
                MemorySegment.copy(sa, Mem.I, ba + 4L * pl * ohw, arg, 0, ohw);
                java.util.Arrays.fill(out, 0f);
                for (int i = 0; i < ohw; i++) out[arg[i]] += grad[i];
                MemorySegment.copy(out, 0, so, Mem.F, bo + 4L * pl * hw, hw);
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
