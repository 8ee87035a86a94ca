package dvp.nn.parity;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.autograd.TapeProbe;
import dvp.engine.spi.PoolSpec;
import dvp.nn.MaxPool2d;
import dvp.nn.Module;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Set;

/**
 * dvp's discrete decisions in a network's forward, sent to torch so that both sides take the same
 * ones (see torch_parity.py follow_decisions): the sign of every ReLU input ({@code relu_mask.k})
 * and the argmax of every max-pool window ({@code maxpool_index.k}, flat h·W+w in its plane), in
 * forward order across all forwards recorded (a ReLU fused into batch norm gives the sign of its output,
 * the same mask). Why: a pre-activation within fp32 rounding of 0, or
 * two window values within rounding of each other, can land on either side in two correct
 * implementations, and one such flip moves whole gradients (ResNet-50 train: torch fp32 vs torch
 * fp64 differ by up to 0.5). Sharing the decisions makes the comparison about the arithmetic; torch
 * reports where its own decisions would have differed, and {@link ParityCheck#decisions} requires
 * each such place to be a rounding-level tie.
 */
final class SharedDecisions {
    private final ParityCase parityCase;
    private final PoolSpec pool;
    private int relus, pools;

    SharedDecisions(ParityCase parityCase, Module m) {
        this.parityCase = parityCase;
        List<PoolSpec> specs = m.namedModules().values().stream().filter(x -> x instanceof MaxPool2d)
                .map(x -> ((MaxPool2d) x).spec()).distinct().toList();
        if (specs.size() > 1) throw new IllegalArgumentException("SharedDecisions: max-pools with different geometry " + specs);
        this.pool = specs.isEmpty() ? null : specs.getFirst();
    }

    /** Adds the decisions of the forward that produced {@code loss} (call once per forward, in order). */
    void record(Tensor loss) {
        // ReLUs run alone ("relu": mask of the input) or fused into batch norm ("batch_norm_relu": y > 0
        // exactly where its pre-activation is > 0), interleaved in forward order
        for (TapeProbe.Visit v : TapeProbe.visits(loss, Set.of("relu", "batch_norm_relu"))) {
            Tensor pre = v.op().equals("relu") ? v.inputs()[0] : v.output();
            if (pre == null) throw new IllegalStateException("SharedDecisions: the output of a fused batch_norm_relu is not reachable from the loss");
            parityCase.bytes("relu_mask." + relus++, reluMask(pre), pre.shape());
        }
        for (Tensor[] in : TapeProbe.inputsOf(loss, "max_pool2d")) {
            Tensor x = in[0];
            int ho = pool.out(x.dim(2)), wo = pool.out(x.dim(3));
            parityCase.longs("maxpool_index." + pools++, argmax(x, pool), x.dim(0), x.dim(1), ho, wo);
        }
    }

    /** Declares how many decisions were sent (torch checks it made exactly as many). */
    void finish() {
        parityCase.meta("relu_masks", relus);
        if (pool != null) parityCase.meta("maxpool_indices", pools);
    }

    private static byte[] reluMask(Tensor pre) {
        float[] v = pre.toFloatArray();
        byte[] mask = new byte[v.length];
        for (int i = 0; i < v.length; i++) mask[i] = (byte) (v[i] > 0 ? 1 : 0);
        return mask;
    }

    /** dvp's own argmax for every window: the backend's max-pool primitive run again on the recorded input. */
    private static long[] argmax(Tensor x, PoolSpec p) {
        Tensor cx = x.isContiguous() ? x : x.copyContiguous();
        int[] outShape = {x.dim(0), x.dim(1), p.out(x.dim(2)), p.out(x.dim(3))};
        Tensor y = Tensor.empty(x.backend(), DType.F32, outShape), arg = Tensor.empty(x.backend(), DType.I32, outShape);
        x.backend().maxPool2dForward(cx, y, arg, p);
        int n = (int) arg.numel();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(4L * n, 4);
            x.backend().copyToHost(arg, host);
            long[] out = new long[n];
            for (int i = 0; i < n; i++) out[i] = host.getAtIndex(ValueLayout.JAVA_INT, i);
            return out;
        }
    }
}
