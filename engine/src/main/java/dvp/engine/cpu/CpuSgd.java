package dvp.engine.cpu;

import dvp.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * torch.optim.SGD's update for one parameter, in PyTorch's operation order. The vector loop performs
 * exactly the scalar loop's multiplications and additions (no fused multiply-add), so both give the
 * same bits.
 */
final class CpuSgd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    private CpuSgd() {}

    static void update(Tensor param, Tensor grad, Tensor buf, float lr, float momentum, float dampening,
                       float wd, boolean nesterov, boolean firstStep) {
        MemorySegment sp = Mem.seg(param), sg = Mem.seg(grad), sb = buf == null ? null : Mem.seg(buf);
        long bp = Mem.base(param), bg = Mem.base(grad), bb = buf == null ? 0 : Mem.base(buf);
        int n = (int) param.numel();
        boolean useMomentum = momentum != 0f;
        float keep = 1 - dampening;
        Parallel.range(n, 1 << 14, (lo, hi) -> {
            int i = lo;
            for (; i + S.length() <= hi; i += S.length()) {
                long o = 4L * i;
                FloatVector p = FloatVector.fromMemorySegment(S, sp, bp + o, NO);
                FloatVector d = FloatVector.fromMemorySegment(S, sg, bg + o, NO);
                if (wd != 0f) d = d.add(p.mul(wd));
                if (useMomentum) {
                    FloatVector b = firstStep ? d : FloatVector.fromMemorySegment(S, sb, bb + o, NO).mul(momentum).add(d.mul(keep));
                    b.intoMemorySegment(sb, bb + o, NO);
                    d = nesterov ? d.add(b.mul(momentum)) : b;
                }
                p.sub(d.mul(lr)).intoMemorySegment(sp, bp + o, NO);
            }
            for (; i < hi; i++) {
                float p = sp.get(Mem.F, bp + 4L * i);
                float d = sg.get(Mem.F, bg + 4L * i);
                if (wd != 0f) d = d + wd * p;
                if (useMomentum) {
                    float b = firstStep ? d : sb.get(Mem.F, bb + 4L * i) * momentum + keep * d;
                    sb.set(Mem.F, bb + 4L * i, b);
                    d = nesterov ? d + momentum * b : b;
                }
                sp.set(Mem.F, bp + 4L * i, p - lr * d);
            }
        });
    }
}
