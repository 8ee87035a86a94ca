package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ResNet#channelsLast(boolean)} on the CPU reference: the stage features are channels-last,
 * the weights and their gradients stay OIHW, and the step is bit for bit the NCHW step (the CPU runs
 * every layout-aware kernel on NCHW copies of the same values, and conversions are exact copies).
 */
class ResNetChannelsLastTest {
    @Test
    void channelsLastTrainingStepIsBitIdenticalToNchwOnTheCpu() {
        try (Scope s = Scope.open("channels-last resnet")) {
            Map<String, float[]> nchw = step(false), cl = step(true);
            assertEquals(nchw.keySet(), cl.keySet());
            for (String k : nchw.keySet()) assertArrayEquals(nchw.get(k), cl.get(k), k);
        }
    }

    /** Logits, stage features, loss, every gradient and every BN buffer after one step of a width-0.25 ResNet-18. */
    private static Map<String, float[]> step(boolean channelsLast) {
        ResNet model = ResNet.builder(ResNet.Arch.RESNET18).numClasses(7).widthMultiplier(0.25).build(new Rng(5)).channelsLast(channelsLast);
        assertEquals(channelsLast, model.channelsLast());
        model.train();
        Tensor x = Tensor.of(Backends.cpu(), new Rng(6).normal(3 * 3 * 40 * 40, 0, 1), 3, 3, 40, 40);
        Tensor y = Tensor.ofLongs(Backends.cpu(), new long[]{1, 6, 3}, 3);
        StageFeatures f = model.forwardWithFeatures(x);
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put("logits", f.logits().toFloatArray());
        for (int i = 0; i < 4; i++) {
            Tensor st = f.stages().get(i);
            assertEquals(channelsLast, st.isChannelsLast(), "stage " + (i + 1) + ": " + st.describe());
            if (channelsLast) assertFalse(st.isContiguous(), "40-px stages are at least 2x2: channels-last differs from NCHW");
            out.put("stage" + i, st.toFloatArray());
        }
        Tensor loss = Losses.crossEntropy(f.logits(), y, 0f);
        loss.backward();
        out.put("loss", loss.toFloatArray());
        for (var e : model.namedParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            assertTrue(g.isContiguous(), e.getKey() + " gradient stays in the parameter's layout: " + g.describe());
            out.put("grad." + e.getKey(), g.toFloatArray());
        }
        for (var e : model.namedBuffers().entrySet())
            if (e.getValue().dtype() == dvp.engine.DType.F32) out.put(e.getKey(), e.getValue().toFloatArray());
        return out;
    }
}
