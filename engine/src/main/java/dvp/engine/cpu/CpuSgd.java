package dvp.engine.cpu;

import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;

/** torch.optim.SGD's update for one parameter, in PyTorch's operation order. */
final class CpuSgd {
    private CpuSgd() {}

    static void update(Tensor param, Tensor grad, Tensor buf, float lr, float momentum, float dampening,
                       float wd, boolean nesterov, boolean firstStep) {
        MemorySegment sp = Mem.seg(param), sg = Mem.seg(grad), sb = buf == null ? null : Mem.seg(buf);
        long bp = Mem.base(param), bg = Mem.base(grad), bb = buf == null ? 0 : Mem.base(buf);
        int n = (int) param.numel();
        Parallel.range(n, 1 << 14, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                float p = sp.get(Mem.F, bp + 4L * i);
                float d = sg.get(Mem.F, bg + 4L * i);
                if (wd != 0f) d = d + wd * p;
                if (momentum != 0f) {
                    float b = firstStep ? d : sb.get(Mem.F, bb + 4L * i) * momentum + (1 - dampening) * d;
                    sb.set(Mem.F, bb + 4L * i, b);
                    d = nesterov ? d + momentum * b : b;
                }
                sp.set(Mem.F, bp + 4L * i, p - lr * d);
            }
        });
    }
}
