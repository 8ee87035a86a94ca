package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.ops.Elementwise;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.BatchNorm2d;
import dvp.nn.Module;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ResNet blocks run their BN + ReLU and BN + residual add + ReLU as one fused op
 * (BatchNorm2d.forwardAddRelu). Checks, in training mode, on the CPU and on the CUDA backend (the
 * simulator in CI): a block's fused forward and pre-ReLU output against the unfused composition
 * (module by module: conv, BatchNorm2d.forward, relu, add) — bit for bit on the CPU, whose fused op
 * is that composition; within the fused kernels' parity tolerance on CUDA, whose unfused path is
 * cuDNN's batch norm — and that OFD's stage features leave the logits unchanged: forwardWithFeatures
 * and forward give the same logits bit for bit, and each feature is the pre-ReLU output.
 */
class FusedBlockTest {
    /**
     * CUDA, fused kernels vs cuDNN's batch norm (relative to max |reference|): the fused kernels and
     * the simulator's cuDNN both sum the statistics in double, so the saved mean / inv-std differ by
     * at most 1 ulp and y by a few u of max|y|; ParityChecks.BN_RELU's derivation bounds the
     * difference by 1e-5 even against the CPU's float-lane sums (a real cuDNN's summation is not
     * verified here). The convolutions before it are identical on both paths.
     */
    private static final double CUDA_TOL = 1e-5;

    @Test
    void cpuBlocksEqualTheUnfusedCompositionBitForBit() {
        checkBlocks(Backends.cpu(), 0);
    }

    @Test
    void cudaBlocksMatchTheUnfusedComposition() {
        checkBlocks(CudaTesting.cuda(), CUDA_TOL);
    }

    @Test
    void cpuStageFeaturesLeaveTheLogitsUnchanged() {
        checkFeatures(Backends.cpu());
    }

    @Test
    void cudaStageFeaturesLeaveTheLogitsUnchanged() {
        checkFeatures(CudaTesting.cuda());
    }

    private static void checkBlocks(Backend be, double tol) {
        try (var u = Backends.use(be); Scope s = Scope.open("fused blocks"); var g = GradMode.noGrad()) {
            Rng rng = new Rng(11);
            ResNet r18 = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).layers(1, 1, 1, 1).numClasses(3).build(rng);
            ResNet r50 = ResNet.builder(ResNet.Arch.RESNET50).widthMultiplier(1.0 / 16).layers(1, 1, 1, 1).numClasses(3).build(rng);
            // layer2.0: stride 2 with a downsample shortcut; layer1.0 of R-18: identity shortcut
            for (var c : List.of(new Case(r18, "layer1.0", 4), new Case(r18, "layer2.0", 4), new Case(r50, "layer1.0", 4),
                    new Case(r50, "layer2.0", 16))) {
                c.net.train();
                ResidualBlock block = (ResidualBlock) c.net.module(c.block);
                Tensor x = randn(be, rng, 3, c.channels, 9, 7);
                String what = be.name() + " " + c.block + " (" + block.getClass().getSimpleName() + ")";
                Tensor unfused = unfusedPreRelu(block, x);
                compare(what + " pre-ReLU", unfused, block.forwardPreRelu(x), tol);
                compare(what + " forward", Elementwise.relu(unfused), block.forward(x), tol);
            }
        }
    }

    private record Case(ResNet net, String block, int channels) {}

    /** The block as torchvision writes it, each op separately (BatchNorm2d.forward is the unfused batch norm). */
    private static Tensor unfusedPreRelu(ResidualBlock block, Tensor x) {
        boolean bottleneck = block instanceof Bottleneck;
        Tensor h = x;
        int convs = bottleneck ? 3 : 2;
        for (int i = 1; i <= convs; i++) {
            h = ((BatchNorm2d) block.module("bn" + i)).forward(block.module("conv" + i).forward(h));
            if (i < convs) h = Elementwise.relu(h);
        }
        Module down = block.namedChildren().get("downsample");
        return Elementwise.add(h, down == null ? x : down.forward(x));
    }

    private static void checkFeatures(Backend be) {
        try (var u = Backends.use(be); Scope s = Scope.open("fused features"); var g = GradMode.noGrad()) {
            for (ResNet.Arch arch : List.of(ResNet.Arch.RESNET18, ResNet.Arch.RESNET50)) {
                // two identical networks: training mode updates the running statistics
                ResNet a = ResNet.builder(arch).widthMultiplier(1.0 / 16).layers(1, 2, 1, 1).numClasses(3).build(new Rng(5));
                ResNet b = ResNet.builder(arch).widthMultiplier(1.0 / 16).layers(1, 2, 1, 1).numClasses(3).build(new Rng(5));
                a.train();
                b.train();
                Tensor x = randn(be, new Rng(6), 3, 3, 32, 32);
                Tensor logits = a.forward(x);
                StageFeatures f = b.forwardWithFeatures(x);
                assertArrayEquals(logits.toFloatArray(), f.logits().toFloatArray(), be.name() + " " + arch + ": logits with features");
                assertArrayEquals(a.tensor("layer4.0.bn2.running_var").toFloatArray(), b.tensor("layer4.0.bn2.running_var").toFloatArray(),
                        be.name() + " " + arch + ": running statistics");
                boolean negative = false;
                for (int i = 0; i < 4; i++) for (float v : f.stage(i).toFloatArray()) negative |= v < 0;
                assertTrue(negative, be.name() + " " + arch + ": the features are taken before the ReLU");
            }
        }
    }

    private static void compare(String what, Tensor expected, Tensor actual, double tol) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        if (tol == 0) {
            assertArrayEquals(e, a, what);
            return;
        }
        double scale = 0, worst = 0;
        for (float v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i] - a[i]) / scale);
        assertTrue(worst <= tol, what + ": max relative error " + worst + " > " + tol);
    }

    private static Tensor randn(Backend be, Rng rng, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return Tensor.of(be, v, shape);
    }
}
