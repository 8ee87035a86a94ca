package dvp.nn.parity;

import dvp.engine.Rng;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The step comparison itself, on the CPU (no device needed): a correct "device" (the CPU with the
 * input moved by ulps, i.e. exactly the differences rounding makes) passes, and each kind of wrong
 * result fails it: a gradient off by 1%, one element wrong, a NaN, a different step counter, a
 * tensor missing.
 */
class StepParityTest {
    /**
     * Four images: with two, layer4's batch norms normalise 2 values per channel and every gradient
     * moves by ~2% when the input moves by an ulp, so a 1% error would be within rounding there.
     */
    private static final ResNetStepParity.Settings S = new ResNetStepParity.Settings(ResNet.Arch.RESNET18, 0.25, 4, 32, 10, 7L);
    private static StepParity.Snapshot ref;
    private static List<StepParity.Snapshot> perturbed;
    private static float[] input;

    @BeforeAll
    static void runTheReference() {
        Backend cpu = Backends.cpu();
        input = ResNetStepParity.images(S);
        StepParity.Step step = ResNetStepParity.step(S);
        ref = step.run(cpu, input);
        perturbed = new ArrayList<>();
        for (float[] p : StepParity.perturbations(input, S.seed())) perturbed.add(step.run(cpu, p));
    }

    /** The reference rerun with an input perturbed by other signs than the calibration's: a correct device. */
    private static StepParity.Snapshot correctDevice(int ulps, long seed) {
        return ResNetStepParity.step(S).run(Backends.cpu(), StepParity.perturb(input, ulps, new Rng(seed)));
    }

    @Test
    void aCorrectDevicePasses() {
        for (int ulps : new int[]{1, StepParity.WIDE_ULPS}) {
            StepParity.Report r = StepParity.compare(ref, perturbed, correctDevice(ulps, 99 + ulps));
            assertTrue(r.pass(), ulps + " ulps: " + r.failures());
            assertEquals(List.of("loss", "gradients", "weights after SGD", "momentum buffers", "BN buffers"), r.groups());
        }
        StepParity.Report same = StepParity.compare(ref, perturbed, ref);
        assertTrue(same.pass() && same.rows().stream().allMatch(x -> x.error() == 0), "the reference against itself");
    }

    @Test
    void aGradientOffByOnePercentFails() {
        StepParity.Snapshot bad = correctDevice(1, 5);
        float[] g = bad.values().get("gradients").get("layer2.0.conv1.weight");
        for (int i = 0; i < g.length; i++) g[i] *= 1.01f;
        StepParity.Report r = StepParity.compare(ref, perturbed, bad);
        assertFalse(r.pass());
        assertEquals(List.of("layer2.0.conv1.weight"), r.failures().stream().map(StepParity.Row::name).toList());
        assertTrue(r.summary("step").stream().anyMatch(x -> !x.pass() && x.output().equals("gradients") && x.note().contains("1 of ")),
                r.summary("step").toString());
    }

    @Test
    void oneWrongElementFails() {
        StepParity.Snapshot bad = correctDevice(1, 6);
        float[] w = bad.values().get("weights after SGD").get("fc.weight");
        w[17] = -w[17] + 0.05f; // one weight of 1280 updated wrongly
        StepParity.Report r = StepParity.compare(ref, perturbed, bad);
        assertEquals(List.of("fc.weight"), r.failures().stream().map(StepParity.Row::name).toList());
        assertTrue(r.failures().getFirst().note().contains("[17]"), r.failures().getFirst().note());
    }

    @Test
    void aNanFails() {
        StepParity.Snapshot bad = correctDevice(1, 7);
        bad.values().get("BN buffers").get("layer3.1.bn2.running_var")[3] = Float.NaN;
        StepParity.Report r = StepParity.compare(ref, perturbed, bad);
        assertEquals(List.of("layer3.1.bn2.running_var"), r.failures().stream().map(StepParity.Row::name).toList());
        assertTrue(Double.isInfinite(r.failures().getFirst().error()));
    }

    @Test
    void integersMustBeEqualAndNothingMayBeMissing() {
        StepParity.Snapshot bad = correctDevice(1, 8);
        Map<String, long[]> counters = bad.exact().get("BN buffers");
        counters.put("bn1.num_batches_tracked", new long[]{2});
        bad.values().get("gradients").remove("fc.bias");
        StepParity.Report r = StepParity.compare(ref, perturbed, bad);
        assertEquals(List.of("fc.bias", "bn1.num_batches_tracked"), r.failures().stream().map(StepParity.Row::name).toList());
    }

    @Test
    void normwiseErrorIsRelativeToTheReferencesNorm() {
        assertEquals(0.0, StepParity.normwise(new float[]{0, 0}, new float[]{0, 0}));
        assertEquals(0.5, StepParity.normwise(new float[]{3, 4}, new float[]{3, 6.5f}), 1e-12);
        assertTrue(Double.isInfinite(StepParity.normwise(new float[]{0, 0}, new float[]{0, 1e-30f})));
        assertTrue(Double.isInfinite(StepParity.normwise(new float[]{1, 2}, new float[]{1, Float.POSITIVE_INFINITY})));
        float[] x = {1f, -2f, 1e-30f, 0f};
        float[] p = StepParity.perturb(x, 3, new Rng(1));
        for (int i = 0; i < x.length; i++) {
            float v = x[i];
            float up = Math.nextUp(Math.nextUp(Math.nextUp(v))), down = Math.nextDown(Math.nextDown(Math.nextDown(v)));
            assertTrue(p[i] == up || p[i] == down, "element " + i + " moved by exactly 3 ulps: " + p[i]);
        }
    }
}
