package dvp.nn.parity;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.randn;

/**
 * Whole torchvision networks from the same weights: dvp builds the model (its own init, BN state
 * randomized), exports the state dict, torchvision loads it with strict=True; both compute the
 * logits of a batch of 2 at 64 px in train or eval mode, a cross-entropy loss, and all parameter
 * gradients; the BN buffers after the step are compared too. torch also runs in float64 so the
 * report shows fp32's own noise floor next to dvp's error.
 */
class ModelParityTest {
    private static final int BATCH = 2, PIXELS = 64;
    private Scope scope;
    private final Rng rng = new Rng(77);

    @BeforeEach void open() { scope = Scope.open("model-parity"); }

    @AfterEach void close() { scope.close(); }

    @ParameterizedTest(name = "resnet18 {0}")
    @ValueSource(strings = {"train", "eval"})
    void resnet18(String mode) throws Exception {
        ResNet m = ResNet.builder(ResNet.Arch.RESNET18).build(rng);
        run("resnet18 " + mode, m, ParityCase.named("resnet18 " + mode).meta("module", "torchvision").meta("arch", "resnet18"), mode, 1000);
    }

    @ParameterizedTest(name = "resnet50 {0}")
    @ValueSource(strings = {"train", "eval"})
    void resnet50(String mode) throws Exception {
        ResNet m = ResNet.builder(ResNet.Arch.RESNET50).build(rng);
        run("resnet50 " + mode, m, ParityCase.named("resnet50 " + mode).meta("module", "torchvision").meta("arch", "resnet50"), mode, 1000);
    }

    /** ResNeXt at a small width: torchvision's ResNet class with Bottleneck, one block per stage, 8 groups × 4. */
    @ParameterizedTest(name = "resnext [1,1,1,1] 8x4d {0}")
    @ValueSource(strings = {"train", "eval"})
    void smallResNeXt(String mode) throws Exception {
        ResNet m = ResNet.builder(ResNet.Arch.RESNEXT50_32X4D).layers(1, 1, 1, 1).groups(8).widthPerGroup(4).numClasses(10).build(rng);
        ParityCase c = ParityCase.named("resnext [1,1,1,1] 8x4d " + mode).meta("module", "ResNet").meta("block", "bottleneck")
                .meta("layers", "1,1,1,1").meta("groups", 8).meta("width_per_group", 4).meta("classes", 10);
        run(c.name, m, c, mode, 10);
    }

    private void run(String name, ResNet m, ParityCase c, String mode, int classes) throws Exception {
        ForwardBackward.randomizeBatchNorms(m, rng);
        Tensor x = randn(rng, BATCH, 3, PIXELS, PIXELS);
        long[] labels = new long[BATCH];
        for (int i = 0; i < BATCH; i++) labels[i] = rng.nextInt(classes);
        ForwardBackward.check(c, m, x, ForwardBackward.Loss.crossEntropy(Tensor.ofLongs(cpu(), labels, BATCH), 0.1f), ForwardBackward.Options.network(mode.equals("train")));
    }
}
