package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Losses;
import dvp.nn.BatchNorm2d;
import dvp.nn.Identity;
import dvp.nn.Linear;
import dvp.nn.Sequential;
import dvp.nn.SplitBatchNorm2d;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResNetTest {
    private Scope scope;
    private final Rng rng = new Rng(11);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    private static double width(ResNet.Arch a) { return a.groups > 1 ? 0.25 : 1.0 / 16; }

    @ParameterizedTest
    @EnumSource(ResNet.Arch.class)
    void everyVariantMapsImagesToLogitsWithStandardAndSmallStem(ResNet.Arch arch) {
        int expansion = arch.block == ResNet.BlockType.BASIC ? 1 : 4;
        double m = width(arch);
        ResNet net = ResNet.builder(arch).widthMultiplier(m).numClasses(7).build(rng);
        int[] planes = {(int) Math.round(64 * m), (int) Math.round(128 * m), (int) Math.round(256 * m), (int) Math.round(512 * m)};
        for (int i = 0; i < 4; i++) assertEquals(planes[i] * expansion, net.stageChannels()[i], "stage " + i + " channels");
        try (var g = GradMode.noGrad()) {
            assertArrayEquals(new int[]{2, 7}, net.forward(randn(rng, 2, 3, 64, 64)).shape());
            ResNet small = ResNet.builder(arch).widthMultiplier(m).numClasses(5).smallStem(true).inChannels(1).build(rng);
            assertInstanceOf(Identity.class, small.namedChildren().get("maxpool"));
            assertArrayEquals(new int[]{64 * 0 + (int) Math.round(64 * m), 1, 3, 3}, small.tensor("conv1.weight").shape());
            StageFeatures f = small.forwardWithFeatures(randn(rng, 2, 1, 16, 16));
            assertArrayEquals(new int[]{2, 5}, f.logits().shape());
            for (int i = 0; i < 4; i++) // small stem: 16, 8, 4, 2 px
                assertArrayEquals(new int[]{2, small.stageChannels()[i], 16 >> i, 16 >> i}, f.stage(i).shape(), "stage " + i);
        }
    }

    @Test
    void stageFeaturesArePreReluAndLogitsEqualForward() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET50).widthMultiplier(1.0 / 16).layers(2, 1, 1, 2).numClasses(10).build(rng);
        Tensor x = randn(rng, 2, 3, 64, 64);
        for (boolean train : new boolean[]{false, true}) {
            net.train(train);
            float[] plain;
            StageFeatures f;
            try (var g = GradMode.noGrad()) {
                plain = net.forward(x).toFloatArray();
                f = net.forwardWithFeatures(x);
            }
            assertArrayEquals(plain, f.logits().toFloatArray(), "logits identical (train=" + train + ")");
            int[] spatial = {16, 8, 4, 2}; // 64 px standard stem: /4, /8, /16, /32
            boolean sawNegative = false;
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(new int[]{2, net.stageChannels()[i], spatial[i], spatial[i]}, f.stage(i).shape());
                for (float v : f.stage(i).toFloatArray()) sawNegative |= v < 0;
            }
            assertTrue(sawNegative, "pre-ReLU features must keep negative values");
        }
        assertArrayEquals(new int[]{64, 128, 256, 512}, ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1).numClasses(2)
                .layers(1, 1, 1, 1).build(rng).stageChannels());
    }

    @Test
    void stageFeatureEqualsLastBlockPreReluOutputComputedByHand() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).layers(1, 2, 1, 1).numClasses(3).build(rng);
        net.eval();
        Tensor x = randn(rng, 1, 3, 32, 32);
        try (var g = GradMode.noGrad()) {
            StageFeatures f = net.forwardWithFeatures(x);
            // recompute layer2's pre-ReLU output from layer1's (post-ReLU) output
            Tensor h = net.namedChildren().get("maxpool").forward(net.namedChildren().get("relu")
                    .forward(net.namedChildren().get("bn1").forward(net.namedChildren().get("conv1").forward(x))));
            h = net.stage(0).forward(h);
            Tensor mid = net.stage(1).get(0).forward(h);
            Tensor pre = ((ResidualBlock) net.stage(1).get(1)).forwardPreRelu(mid);
            assertArrayEquals(pre.toFloatArray(), f.stage(1).toFloatArray());
        }
    }

    @Test
    void stageFinalBnIsTheLastBlocksBn3OrBn2() {
        ResNet r50 = ResNet.builder(ResNet.Arch.RESNET50).widthMultiplier(1.0 / 16).build(rng);
        assertSame(r50.module("layer3.5.bn3"), r50.stageFinalBn(2));
        assertSame(r50.module("layer4.2.bn3"), r50.stageFinalBn(3));
        ResNet r18 = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).build(rng);
        assertSame(r18.module("layer1.1.bn2"), r18.stageFinalBn(0));
        assertEquals(r18.stageChannels()[0], r18.stageFinalBn(0).numFeatures());
    }

    @Test
    void initFollowsTorchvision() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET50).widthMultiplier(0.5).numClasses(100).build(rng);
        // conv: N(0, 2/fan_out), fan_out = C_out*k*k
        float[] w = net.tensor("layer3.0.conv2.weight").toFloatArray(); // [128,128,3,3]
        double expectedStd = Math.sqrt(2.0 / (128 * 9));
        assertEquals(expectedStd, std(w), expectedStd * 0.03);
        assertEquals(0, mean(w), expectedStd * 0.03);
        float[] stem = net.tensor("conv1.weight").toFloatArray(); // [32,3,7,7]
        assertEquals(Math.sqrt(2.0 / (32 * 49)), std(stem), Math.sqrt(2.0 / (32 * 49)) * 0.06);
        // BN γ=1, β=0, running stats 0/1
        for (float v : net.tensor("layer2.1.bn1.weight").toFloatArray()) assertEquals(1f, v);
        for (float v : net.tensor("layer2.1.bn1.bias").toFloatArray()) assertEquals(0f, v);
        for (float v : net.tensor("layer2.1.bn1.running_var").toFloatArray()) assertEquals(1f, v);
        assertEquals(0L, net.tensor("bn1.num_batches_tracked").toLongArray()[0]);
        // fc: U(±1/sqrt(fan_in)) for weight and bias
        double bound = 1 / Math.sqrt(1024);
        float[] fw = net.tensor("fc.weight").toFloatArray(), fb = net.tensor("fc.bias").toFloatArray();
        double maxW = 0, maxB = 0;
        for (float v : fw) maxW = Math.max(maxW, Math.abs(v));
        for (float v : fb) maxB = Math.max(maxB, Math.abs(v));
        assertTrue(maxW <= bound && maxW > 0.95 * bound, "fc.weight max |w| " + maxW + " vs bound " + bound);
        assertTrue(maxB <= bound, "fc.bias max " + maxB);
        assertEquals(bound / Math.sqrt(3), std(fw), bound * 0.02); // std of U(-b, b) = b/sqrt(3)
    }

    @Test
    void sameSeedSameWeightsAndZeroInitResidual() {
        ResNet a = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(0.125).build(new Rng(5));
        ResNet b = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(0.125).build(new Rng(5));
        Map<String, Tensor> sb = b.stateDict();
        a.stateDict().forEach((k, v) -> {
            if (v.dtype() == dvp.engine.DType.F32) assertArrayEquals(v.toFloatArray(), sb.get(k).toFloatArray(), k);
        });
        ResNet z = ResNet.builder(ResNet.Arch.RESNET50).widthMultiplier(1.0 / 16).zeroInitResidual(true).build(new Rng(5));
        for (float v : z.tensor("layer1.0.bn3.weight").toFloatArray()) assertEquals(0f, v);
        for (float v : z.tensor("layer1.0.bn2.weight").toFloatArray()) assertEquals(1f, v);
    }

    @Test
    void backwardReachesEveryParameter() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNEXT50_32X4D).widthMultiplier(0.25).layers(1, 1, 1, 1).numClasses(4).build(rng);
        Tensor loss = Losses.crossEntropy(net.forward(randn(rng, 2, 3, 32, 32)), Tensor.ofLongs(cpu(), new long[]{1, 3}, 2));
        loss.backward();
        net.namedParameters().forEach((k, p) -> {
            assertNotNull(p.grad(), k + " has no gradient");
            assertArrayEquals(p.shape(), p.grad().shape(), k);
        });
        assertEquals(1, net.tensor("bn1.num_batches_tracked").toLongArray()[0]);
    }

    @Test
    void mlpHeadAndReplaceableHeadKeepTorchKeys() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET50).widthMultiplier(1.0 / 16).numClasses(128).mlpHead(true).build(rng);
        int d = net.featureDim();
        assertEquals(128, d);
        assertArrayEquals(new int[]{d, d}, net.tensor("fc.0.weight").shape());
        assertArrayEquals(new int[]{d}, net.tensor("fc.0.bias").shape());
        assertArrayEquals(new int[]{128, d}, net.tensor("fc.2.weight").shape());
        assertArrayEquals(new int[]{128}, net.tensor("fc.2.bias").shape());
        assertInstanceOf(Sequential.class, net.fc());
        try (var g = GradMode.noGrad()) {
            assertArrayEquals(new int[]{3, 128}, net.forward(randn(rng, 3, 3, 32, 32)).shape());
            net.replaceFc(new Identity());
            assertArrayEquals(new int[]{3, d}, net.forward(randn(rng, 3, 3, 32, 32)).shape());
            net.replaceFc(new Linear(d, 10, rng));
            assertArrayEquals(new int[]{3, 10}, net.forward(randn(rng, 3, 3, 32, 32)).shape());
        }
        assertTrue(net.stateDict().containsKey("fc.weight"));
        assertThrows(IllegalArgumentException.class, () -> net.replaceChild("layer1", new Identity()));
    }

    @Test
    void splitBatchNormFactoryKeepsKeys() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).norm(NormFactory.splitBatchNorm(2)).build(rng);
        assertInstanceOf(SplitBatchNorm2d.class, net.module("layer2.0.downsample.1"));
        assertInstanceOf(BatchNorm2d.class, net.stageFinalBn(1));
        assertEquals(122, net.stateDict().size());
        try (var g = GradMode.noGrad()) {
            assertArrayEquals(new int[]{4, 1000}, net.forward(randn(rng, 4, 3, 32, 32)).shape());
        }
    }

    @Test
    void clearErrors() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).build(rng);
        var e = assertThrows(IllegalArgumentException.class, () -> net.forward(randn(rng, 1, 1, 32, 32)));
        assertTrue(e.getMessage().contains("expected input [N, 3, H, W]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ResNet.builder(ResNet.Arch.RESNET18).groups(32).build(rng));
        var w = assertThrows(IllegalArgumentException.class,
                () -> ResNet.builder(ResNet.Arch.RESNEXT50_32X4D).widthMultiplier(0.125).build(rng));
        assertTrue(w.getMessage().contains("inner width"), w.getMessage());
        assertEquals(ResNet.Arch.RESNEXT101_32X8D, ResNet.Arch.fromName("ResNeXt101_32x8d"));
        assertThrows(IllegalArgumentException.class, () -> ResNet.Arch.fromName("resnet19"));
    }

    @Test
    void ofdConnectorIsConvPlusBnWithHeNormalFanOut() {
        Sequential c = Connectors.ofd(64, 256, rng);
        assertEquals(java.util.List.of("0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"),
                java.util.List.copyOf(c.stateDict().keySet()));
        assertArrayEquals(new int[]{256, 64, 1, 1}, c.tensor("0.weight").shape());
        double expected = Math.sqrt(2.0 / 256);
        assertEquals(expected, std(c.tensor("0.weight").toFloatArray()), expected * 0.03);
        try (var g = GradMode.noGrad()) {
            assertArrayEquals(new int[]{2, 256, 5, 5}, c.forward(randn(rng, 2, 64, 5, 5)).shape());
        }
    }

    static double mean(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s / v.length;
    }

    static double std(float[] v) {
        double m = mean(v), s = 0;
        for (float x : v) s += (x - m) * (x - m);
        return Math.sqrt(s / v.length);
    }
}
