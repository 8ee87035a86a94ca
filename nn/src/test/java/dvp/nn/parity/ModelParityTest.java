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
 * logits of a batch of 32 at 64 px in train or eval mode, a cross-entropy loss, and all parameter
 * gradients; the BN buffers after the step are compared too. torch also runs in float64 so the
 * report shows fp32's own noise floor next to dvp's error.
 *
 * <p>Why batch 32: in train mode batch norm's backward subtracts the per-channel mean of the
 * incoming gradient, and at layer4 (2×2 px) a batch of 2 gives it only 8 values per channel, so
 * most of the gradient cancels and what is left is fp32 rounding: torch fp32 itself is then 5e-4
 * from torch fp64 on ResNet-50, and no fp32 implementation can meet 1e-4 against it. At batch 32
 * (128 values per channel) torch fp32's own error is below 1e-4 and dvp is held to 1e-4 strictly.
 * The batch-2 case is kept as a stress case ({@link #resnet50TrainSmallBatch}), where the
 * noise-floor rule of {@link ParityCheck} applies.
 */
class ModelParityTest {
    private static final int BATCH = 32, STRESS_BATCH = 2, PIXELS = 64;
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

    /** ResNet-50 train mode at batch 2: ill-conditioned BN backward (see the class comment); reported, passes by the noise-floor rule. */
    @org.junit.jupiter.api.Test
    void resnet50TrainSmallBatch() throws Exception {
        ResNet m = ResNet.builder(ResNet.Arch.RESNET50).build(rng);
        run("resnet50 train batch 2", m, ParityCase.named("resnet50 train batch 2").meta("module", "torchvision").meta("arch", "resnet50"), "train", 1000, STRESS_BATCH);
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
        run(name, m, c, mode, classes, BATCH);
    }

    private void run(String name, ResNet m, ParityCase c, String mode, int classes, int batch) throws Exception {
        ForwardBackward.randomizeBatchNorms(m, rng);
        Tensor x = randn(rng, batch, 3, PIXELS, PIXELS);
        long[] labels = new long[batch];
        for (int i = 0; i < batch; i++) labels[i] = rng.nextInt(classes);
        ForwardBackward.check(c, m, x, ForwardBackward.Loss.crossEntropy(Tensor.ofLongs(cpu(), labels, batch), 0.1f), ForwardBackward.Options.network(mode.equals("train")));
    }
}
