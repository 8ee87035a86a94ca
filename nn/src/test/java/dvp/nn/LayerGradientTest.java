package dvp.nn;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.testing.GradCheck;
import dvp.nn.models.BasicBlock;
import dvp.nn.models.Bottleneck;
import dvp.nn.models.NormFactory;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.distinct;
import static dvp.engine.testing.Tensors.param;
import static dvp.engine.testing.Tensors.randn;
import static dvp.engine.testing.Tensors.uniform;

/**
 * Finite differences vs autograd for every layer and block with parameters, w.r.t. the input and
 * every parameter (GradCheck perturbs the module's own tensors in place). Odd sizes throughout.
 */
class LayerGradientTest {
    private Scope scope;
    private final Rng rng = new Rng(17);
    private final GradCheck gc = GradCheck.defaults();

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /**
     * Puts every BN of m in a regime where no ReLU input comes near the kink (finite differences
     * across a kink are meaningless): γ = 0.2 and β = +2 on even channels, −2 on odd ones, so each
     * channel's activations stay clearly on one side (|γ·x̂| ≤ ~1) and the ReLU masks of both signs
     * are exercised. Residual sums add same-parity channels, so they keep the sign.
     */
    static void kinkFree(Module m) {
        for (Module sub : m.namedModules().values()) {
            if (!(sub instanceof BatchNorm2d bn)) continue;
            float[] beta = new float[bn.numFeatures()];
            for (int c = 0; c < beta.length; c++) beta[c] = c % 2 == 0 ? 2f : -2f;
            Init.constant(bn.weight(), 0.2);
            Init.write(bn.bias(), beta);
        }
    }

    /** The input followed by the module's parameters, as GradCheck inputs. */
    private static Tensor[] inputs(Tensor x, Module m) {
        List<Tensor> all = new ArrayList<>();
        all.add(x);
        all.addAll(m.parameters());
        return all.toArray(Tensor[]::new);
    }

    @ParameterizedTest(name = "k={0} stride={1} pad={2} groups={3} bias={4}")
    @CsvSource({"3,1,1,1,true", "3,2,1,3,true", "1,2,0,1,false", "5,1,2,3,false"})
    void conv2d(int k, int stride, int pad, int groups, boolean bias) {
        Conv2d conv = new Conv2d(6, 9, k, stride, pad, groups, bias, Conv2d.WeightInit.PYTORCH_DEFAULT, rng);
        Tensor x = param(randn(rng, 2, 6, 7, 5));
        gc.check("Conv2d", in -> conv.forward(in[0]), inputs(x, conv));
    }

    @ParameterizedTest(name = "bias={0}")
    @ValueSource(booleans = {true, false})
    void linear(boolean bias) {
        Linear lin = new Linear(7, 3, bias, rng);
        Tensor x = param(randn(rng, 5, 7));
        gc.check("Linear", in -> lin.forward(in[0]), inputs(x, lin));
    }

    @Test
    void batchNormTrainAndEval() {
        BatchNorm2d bn = new BatchNorm2d(5);
        Init.uniform(bn.weight(), 0.5, 1.5, rng);
        Init.normal(bn.bias(), 0, 1, rng);
        Tensor x = param(randn(rng, 3, 5, 3, 2));
        gc.step(5e-3).check("BatchNorm2d(train)", in -> bn.forward(in[0]), inputs(x, bn));
        bn.eval();
        gc.check("BatchNorm2d(eval)", in -> bn.forward(in[0]), inputs(x, bn));
    }

    @Test
    void splitBatchNormTrain() {
        SplitBatchNorm2d bn = new SplitBatchNorm2d(3, 2);
        Init.uniform(bn.weight(), 0.5, 1.5, rng);
        Init.normal(bn.bias(), 0, 1, rng);
        Tensor x = param(randn(rng, 6, 3, 3, 3));
        gc.step(5e-3).check("SplitBatchNorm2d(train)", in -> bn.forward(in[0]), inputs(x, bn));
    }

    @Test
    void channelOps() {
        Tensor x = param(randn(rng, 2, 3, 2, 5)), b = param(randn(rng, 3)), v = param(randn(rng, 4));
        gc.check("add_bias", in -> ChannelOps.addChannelBias(in[0], in[1]), x, b);
        gc.check("repeat", in -> ChannelOps.repeat(in[0], 3), v);
    }

    @Test
    void poolingAndFlattenModules() {
        Tensor x = param(Tensor.of(cpu(), distinct(rng, 2 * 3 * 7 * 5, 0.05f), 2, 3, 7, 5));
        gc.check("MaxPool2d", in -> new MaxPool2d(3, 2, 1).forward(in[0]), x);
        gc.check("AdaptiveAvgPool2d+Flatten", in -> new Flatten().forward(new AdaptiveAvgPool2d().forward(in[0])), x);
    }

    @Test
    void sequentialConvBnLinear() {
        Sequential net = new Sequential(new Conv2d(2, 3, 3, 2, 1, 1, true, Conv2d.WeightInit.PYTORCH_DEFAULT, rng),
                new BatchNorm2d(3), new Flatten(), new Linear(3 * 3 * 2, 4, rng));
        Tensor x = param(randn(rng, 3, 2, 5, 3));
        gc.step(5e-3).check("Sequential", in -> net.forward(in[0]), inputs(x, net));
    }

    @ParameterizedTest(name = "train={0}")
    @ValueSource(booleans = {true, false})
    void basicBlockWithDownsample(boolean train) {
        Sequential down = new Sequential(new Conv2d(3, 4, 1, 2, 0, rng), new BatchNorm2d(4));
        BasicBlock block = new BasicBlock(3, 4, 2, down, NormFactory.batchNorm(), rng);
        block.train(train);
        kinkFree(block);
        Tensor x = param(randn(rng, 3, 3, 5, 5));
        gc.step(5e-3).check("BasicBlock", in -> block.forward(in[0]), inputs(x, block));
        gc.step(5e-3).check("BasicBlock(pre-ReLU)", in -> block.forwardPreRelu(in[0]), inputs(x, block));
    }

    @ParameterizedTest(name = "train={0}")
    @ValueSource(booleans = {true, false})
    void groupedBottleneckWithIdentityShortcut(boolean train) {
        Bottleneck block = new Bottleneck(8, 2, 1, null, 2, 64, NormFactory.batchNorm(), rng); // width 4, groups 2
        block.train(train);
        kinkFree(block);
        Tensor x = param(uniform(rng, -0.5, 0.5, 2, 8, 3, 5)); // identity shortcut: keep |x| < margin
        gc.step(5e-3).check("Bottleneck", in -> block.forward(in[0]), inputs(x, block));
    }

    @Test
    void tinyResNetCrossEntropyWrtSelectedParameters() {
        ResNet net = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(1.0 / 16).layers(1, 1, 1, 1).numClasses(3)
                .smallStem(true).build(rng);
        kinkFree(net);
        Tensor x = randn(rng, 4, 3, 8, 8);
        Tensor y = Tensor.ofLongs(cpu(), new long[]{0, 2, 1, 2}, 4);
        gc.step(5e-3).check("ResNet+CE", in -> Losses.crossEntropy(net.forward(in[0]), y, 0.1f),
                param(x), net.tensor("conv1.weight"), net.tensor("layer2.0.bn2.weight"), net.tensor("layer3.0.downsample.0.weight"),
                net.tensor("fc.weight"), net.tensor("fc.bias"));
    }

    @Test
    void uniformHelperStaysInRange() {
        Tensor t = uniform(rng, -1, 1, 3);
        Init.uniform(t, 2, 3, rng);
        for (float v : t.toFloatArray()) org.junit.jupiter.api.Assertions.assertTrue(v >= 2 && v < 3);
    }
}
