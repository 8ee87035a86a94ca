package dvp.nn.cuda;

import dvp.engine.DType;
import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.ops.Autocast;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 autocast stores activations in bf16, as PyTorch's does (issue 18): in a ResNet-18 training
 * forward on the (simulated) CUDA device under {@link Autocast#bf16}, every tensor the tape recorded
 * as the output of a convolution, batch norm (fused with add and ReLU or not), ReLU, residual add or pooling is BF16 (NCHW and
 * channels-last, every 4-D one in the input's layout), while the logits (the classifier's fp32 bias promotes them), the loss and every
 * parameter gradient are F32.
 */
class Bf16ActivationStorageTest {
    /** Ops whose outputs are activations: each one on the tape must be BF16. */
    private static final Set<String> BF16_OPS = Set.of("conv2d", "batch_norm", "batch_norm_relu", "batch_norm_add", "relu", "add",
            "max_pool2d", "adaptive_avg_pool2d");
    /** Of those, the ones a ResNet-18 training forward records (its BN + add + ReLU run fused, in both layouts). */
    private static final Set<String> RESNET18_OPS = Set.of("conv2d", "batch_norm", "batch_norm_relu", "max_pool2d", "adaptive_avg_pool2d");

    private static ResNet model(CudaBackend cuda) {
        try (var use = Backends.use(cuda)) {
            ResNet m = ResNet.builder(ResNet.Arch.RESNET18).numClasses(10).widthMultiplier(0.25).build(new Rng(7));
            m.train();
            return m;
        }
    }

    /** The dtype of every tensor the tape recorded, by the op that produced it (op -> dtypes seen). */
    private static Map<String, Set<DType>> tapeDtypes(Tensor root, Set<String> layouts) {
        Map<String, Set<DType>> out = new TreeMap<>();
        Map<Tensor, Boolean> seen = new IdentityHashMap<>();
        Deque<Tensor> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            if (t == null || seen.put(t, true) != null || t.gradFn() == null) continue;
            out.computeIfAbsent(t.gradFn().op(), k -> new java.util.TreeSet<>()).add(t.dtype());
            if (t.rank() == 4 && BF16_OPS.contains(t.gradFn().op())) layouts.add(t.gradFn().op() + " " + t.memoryFormat());
            for (Tensor in : t.gradFn().inputList()) todo.push(in);
        }
        return out;
    }

    @Test
    void underBf16AutocastTheActivationsOnTheTapeAreBf16AndTheLossAndGradientsFp32() {
        CudaBackend cuda = CudaTesting.cuda();
        for (MemoryFormat format : new MemoryFormat[]{MemoryFormat.CONTIGUOUS, MemoryFormat.CHANNELS_LAST}) {
            try (Scope s = Scope.open("bf16 tape " + format)) {
                ResNet m = model(cuda);
                Tensor x = Tensor.of(cuda, new Rng(8).normal(4 * 3 * 32 * 32, 0, 1), 4, 3, 32, 32).contiguous(format);
                Tensor y = Tensor.ofLongs(cuda, new long[]{1, 2, 3, 4}, 4);
                try (var on = Autocast.bf16(cuda)) {
                    Tensor logits = m.forward(x);
                    assertEquals(DType.F32, logits.dtype(), "the classifier's fp32 bias promotes the bf16 product (bf16 + fp32 = fp32)");
                    Tensor loss = Losses.crossEntropy(logits, y, 0f);
                    assertEquals(DType.F32, loss.dtype());
                    Set<String> layouts = new java.util.TreeSet<>();
                    Map<String, Set<DType>> dtypes = tapeDtypes(loss, layouts);
                    for (String l : layouts) // every 4-D activation keeps the input's layout (channels-last stays channels-last)
                        assertTrue(l.endsWith(" " + format), format + ": 4-D outputs on the tape by op and layout: " + layouts);
                    for (String op : RESNET18_OPS) assertTrue(dtypes.containsKey(op), format + ": no " + op + " on the tape: " + dtypes);
                    for (String op : BF16_OPS)
                        if (dtypes.containsKey(op))
                            assertEquals(Set.of(DType.BF16), dtypes.get(op), format + ": outputs of " + op + " on the tape: " + dtypes);
                    assertTrue(dtypes.get("to(BF16)").contains(DType.BF16), "weights cast to bf16: " + dtypes);
                    loss.backward();
                    assertTrue(Float.isFinite(loss.item()), "loss " + loss.item());
                }
                for (var e : m.namedParameters().entrySet()) {
                    assertEquals(DType.F32, e.getValue().grad().dtype(), e.getKey() + ": fp32 master weight, fp32 gradient");
                    for (float g : e.getValue().grad().toFloatArray()) assertTrue(Float.isFinite(g), e.getKey() + " gradient finite");
                }
            }
        }
    }
}
