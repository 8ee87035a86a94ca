package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateDictLoadTest {
    private Scope scope;

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    private static ResNet tiny(long seed, int classes) {
        return ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).numClasses(classes).build(new Rng(seed));
    }

    private static Map<String, Tensor> prefixed(Map<String, Tensor> sd, String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        sd.forEach((k, v) -> out.put(prefix + k, v));
        return out;
    }

    private static void assertSameValues(Map<String, Tensor> expected, Map<String, Tensor> actual, List<String> skip) {
        expected.forEach((k, v) -> {
            if (skip.contains(k)) return;
            if (v.dtype() == DType.I64) assertArrayEquals(v.toLongArray(), actual.get(k).toLongArray(), k);
            else assertArrayEquals(v.toFloatArray(), actual.get(k).toFloatArray(), k);
        });
    }

    @Test
    void strictRoundTripCopiesInPlace() {
        ResNet a = tiny(1, 10), b = tiny(2, 10);
        Tensor bConv = b.tensor("conv1.weight");
        LoadReport r = b.loadStateDict(a.stateDict(), true);
        assertTrue(r.isComplete());
        assertEquals(122, r.loaded().size());
        assertSame(bConv, b.tensor("conv1.weight"), "loaded in place");
        assertSameValues(a.stateDict(), b.stateDict(), List.of());
    }

    @Test
    void strictFailureListsEveryProblemAndCopiesNothing() {
        ResNet a = tiny(1, 10), b = tiny(2, 7);
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.remove("layer1.0.bn1.running_var");
        sd.put("extra.weight", Tensor.zeros(cpu(), 3));
        float[] before = b.tensor("conv1.weight").toFloatArray();
        StateDictException e = assertThrows(StateDictException.class, () -> b.loadStateDict(sd, true));
        String msg = e.getMessage();
        assertTrue(msg.contains("1 missing key: layer1.0.bn1.running_var"), msg);
        assertTrue(msg.contains("1 unexpected key: extra.weight"), msg);
        assertTrue(msg.contains("2 size/dtype mismatches: fc.weight: checkpoint has F32[10, 32], model has F32[7, 32], "
                + "fc.bias: checkpoint has F32[10], model has F32[7]"), msg);
        assertTrue(msg.contains("Nothing was copied"), msg);
        assertArrayEquals(before, b.tensor("conv1.weight").toFloatArray(), "strict failure leaves the module unchanged");
        assertEquals(List.of("fc.weight", "fc.bias"), e.report().mismatched().stream().map(LoadReport.Mismatch::key).toList());
    }

    @Test
    void nonStrictReportsAndLoadsTheRest() {
        ResNet a = tiny(1, 10), b = tiny(2, 7);
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.remove("layer4.1.conv2.weight");
        sd.put("queue", Tensor.zeros(cpu(), 4, 2));
        float[] fcBefore = b.tensor("fc.weight").toFloatArray();
        LoadReport r = b.loadStateDict(sd, false);
        assertEquals(List.of("layer4.1.conv2.weight"), r.missing());
        assertEquals(List.of("queue"), r.unexpected());
        assertEquals(List.of("fc.weight", "fc.bias"), r.mismatched().stream().map(LoadReport.Mismatch::key).toList());
        assertEquals(122 - 3, r.loaded().size());
        assertArrayEquals(fcBefore, b.tensor("fc.weight").toFloatArray(), "mismatched keys are left alone");
        assertSameValues(a.stateDict(), b.stateDict(), List.of("layer4.1.conv2.weight", "fc.weight", "fc.bias"));
    }

    @Test
    void mocoCheckpointSelectStripAndDropHead() {
        // a DDP MoCo checkpoint: module.encoder_q.* (with MLP head), module.encoder_k.*, module.queue
        ResNet q = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).numClasses(16).mlpHead(true).build(new Rng(4));
        Map<String, Tensor> ckpt = new LinkedHashMap<>(prefixed(q.stateDict(), "module.encoder_q."));
        ckpt.putAll(prefixed(tiny(5, 16).stateDict(), "module.encoder_k."));
        ckpt.put("module.queue", Tensor.zeros(cpu(), 16, 8));
        ResNet downstream = tiny(6, 10);
        LoadReport r = downstream.loadStateDict(ckpt, LoadOptions.nonStrict().selectPrefix("module.encoder_q.").dropPrefix("fc."));
        assertEquals(List.of("fc.weight", "fc.bias"), r.missing(), "ALGORITHMS §2.6: only the head is missing");
        assertEquals(List.of(), r.unexpected());
        assertEquals(122 + 1 + 4, r.ignored().size(), "encoder_k (122), queue and the MLP head (4) are ignored");
        assertSameValues(q.stateDict(), downstream.stateDict(), List.of("fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias", "fc.weight", "fc.bias"));

        // strip-only handles both "module.encoder_q." and our own non-DDP "encoder_q." keys
        ResNet again = tiny(7, 10);
        Map<String, Tensor> plain = prefixed(tiny(8, 10).stateDict(), "module.encoder_q.");
        assertTrue(again.loadStateDict(plain, LoadOptions.strict().stripPrefix("module.", "encoder_q.")).isComplete());
        StateDictException e = assertThrows(StateDictException.class, () -> tiny(9, 10).loadStateDict(plain, true));
        assertTrue(e.getMessage().contains("selectPrefix/stripPrefix"), e.getMessage());
    }

    @Test
    void missingBatchCounterIsDefaultedLikeTorch() {
        ResNet a = tiny(1, 10), b = tiny(2, 10);
        b.train();
        try (var g = dvp.engine.autograd.GradMode.noGrad()) {
            b.forward(dvp.engine.testing.Tensors.randn(new Rng(1), 2, 3, 32, 32));
        }
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.keySet().removeIf(k -> k.endsWith("num_batches_tracked"));
        LoadReport r = b.loadStateDict(sd, true);
        assertEquals(20, r.defaulted().size());
        assertEquals(0L, b.tensor("layer1.0.bn1.num_batches_tracked").toLongArray()[0]);
    }

    @Test
    void batchCounterStoredWithShapeOneLoadsStrictlyLikeTorch() {
        // torch.load_state_dict(strict=True) takes a [1] num_batches_tracked for its scalar buffer
        ResNet a = tiny(1, 10), b = tiny(2, 10);
        Map<String, Tensor> sd = new LinkedHashMap<>();
        a.stateDict().forEach((k, v) -> sd.put(k, k.endsWith("num_batches_tracked") ? Tensor.ofLongs(cpu(), new long[]{42}, 1) : v));
        LoadReport r = b.loadStateDict(sd, true);
        assertTrue(r.isComplete(), r.toString());
        assertEquals(42L, b.tensor("layer1.0.bn1.num_batches_tracked").toLongArray()[0]);
        assertEquals(0, b.tensor("layer1.0.bn1.num_batches_tracked").shape().length, "the module's buffer stays a scalar");
        // only the counter, and only [1]: a [2] counter or a [1] weight of a scalar-shaped key is still a mismatch
        sd.put("layer1.0.bn1.num_batches_tracked", Tensor.ofLongs(cpu(), new long[]{1, 2}, 2));
        StateDictException e = assertThrows(StateDictException.class, () -> tiny(3, 10).loadStateDict(sd, true));
        assertTrue(e.getMessage().contains("1 size/dtype mismatch: layer1.0.bn1.num_batches_tracked: checkpoint has I64[2], model has I64[]"),
                e.getMessage());
    }

    @Test
    void halfPrecisionCheckpointsWidenToF32() {
        Linear lin = new Linear(2, 2, new Rng(1));
        float[] w = {0.5f, -1.25f, 3f, 65504f}, bias = {1f / 3, -2f};
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("weight", half(DType.F16, w, 2, 2));
        sd.put("bias", half(DType.BF16, bias, 2));
        assertTrue(lin.loadStateDict(sd, true).isComplete());
        assertArrayEquals(w, lin.weight().toFloatArray());
        float bf = Float.intBitsToFloat(Float.floatToIntBits(1f / 3) & 0xFFFF0000); // BF16 truncation of 1/3
        assertArrayEquals(new float[]{bf, -2f}, lin.bias().toFloatArray());
        sd.put("weight", Tensor.ofLongs(cpu(), new long[]{1, 2, 3, 4}, 2, 2));
        StateDictException e = assertThrows(StateDictException.class, () -> lin.loadStateDict(sd, true));
        assertTrue(e.getMessage().contains("weight: checkpoint has I64[2, 2], model has F32[2, 2]"), e.getMessage());
    }

    @Test
    void keysThatCollideAfterRewritingAreAnError() {
        Linear lin = new Linear(2, 2, new Rng(1));
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("module.weight", lin.weight());
        sd.put("weight", lin.weight());
        var e = assertThrows(IllegalArgumentException.class, () -> lin.loadStateDict(sd, LoadOptions.nonStrict().stripPrefix("module.")));
        assertTrue(e.getMessage().contains("both become 'weight'"), e.getMessage());
    }

    private static Tensor half(DType dtype, float[] values, int... shape) {
        Tensor t = Tensor.empty(cpu(), dtype, shape);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(values.length * 2L, 8);
            for (int i = 0; i < values.length; i++) {
                short bits = dtype == DType.F16 ? Float.floatToFloat16(values[i]) : (short) (Float.floatToIntBits(values[i]) >>> 16);
                seg.setAtIndex(ValueLayout.JAVA_SHORT, i, bits);
            }
            cpu().copyFromHost(seg, t);
        }
        return t;
    }
}
