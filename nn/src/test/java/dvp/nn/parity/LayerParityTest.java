package dvp.nn.parity;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.nn.BatchNorm2d;
import dvp.nn.Conv2d;
import dvp.nn.Identity;
import dvp.nn.Linear;
import dvp.nn.MaxPool2d;
import dvp.nn.Module;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static dvp.engine.testing.Tensors.randn;

/**
 * Single layers against torch.nn on random weights and inputs, at odd sizes: outputs, input
 * gradients, weight gradients and (BatchNorm) the buffers after the step. Max relative error
 * ≤ 1e-4 in fp32 (see {@link ParityCheck}).
 */
class LayerParityTest {
    private Scope scope;
    private final Rng rng = new Rng(2024);

    @BeforeEach void open() { scope = Scope.open("layer-parity"); }

    @AfterEach void close() { scope.close(); }

    @ParameterizedTest(name = "conv2d in={0} out={1} k={2} s={3} p={4} g={5} bias={6} x={7}x{8}")
    @CsvSource({
            "6, 8, 3, 1, 1, 1, true, 9, 11",   // plain 3x3, with bias
            "6, 8, 3, 2, 1, 2, false, 9, 11",  // strided, two groups
            "8, 8, 3, 1, 1, 8, false, 7, 7",   // depthwise
            "3, 5, 7, 2, 3, 1, false, 13, 12", // ResNet stem shape
            "6, 10, 1, 2, 0, 1, false, 9, 9",  // downsample 1x1 stride 2
            "12, 8, 3, 2, 0, 4, true, 10, 8"   // grouped, no padding, bias
    })
    void conv2d(int in, int out, int k, int s, int p, int g, boolean bias, int h, int w) throws Exception {
        Conv2d conv = new Conv2d(in, out, k, s, p, g, bias, Conv2d.WeightInit.PYTORCH_DEFAULT, rng);
        Tensor x = randn(rng, 2, in, h, w);
        Tensor dy = randn(rng, 2, out, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
        ParityCase c = ParityCase.named(String.format("conv2d in%d out%d k%d s%d p%d g%d%s %dx%d", in, out, k, s, p, g, bias ? " bias" : "", h, w))
                .meta("module", "Conv2d").meta("in", in).meta("out", out).meta("kernel", k).meta("stride", s)
                .meta("padding", p).meta("groups", g).meta("bias", bias);
        ForwardBackward.check(c, conv, x, ForwardBackward.Loss.upstream(dy), ForwardBackward.Options.layer(true));
    }

    @ParameterizedTest(name = "batchnorm2d {0}")
    @ValueSource(strings = {"train", "eval"})
    void batchNorm2d(String mode) throws Exception {
        BatchNorm2d bn = new BatchNorm2d(7);
        ForwardBackward.randomizeBatchNorms(bn, rng);
        Tensor x = shifted(randn(rng, 3, 7, 5, 6), 0.7f, 1.8f);
        Tensor dy = randn(rng, 3, 7, 5, 6);
        ParityCase c = ParityCase.named("batchnorm2d " + mode).meta("module", "BatchNorm2d").meta("features", 7);
        ForwardBackward.check(c, bn, x, ForwardBackward.Loss.upstream(dy), ForwardBackward.Options.layer(mode.equals("train")));
    }

    @Test void batchNorm2dCumulativeAverage() throws Exception {
        BatchNorm2d bn = new BatchNorm2d(5, 1e-3f, null, true, true); // momentum None: running stats average over batches
        ForwardBackward.randomizeBatchNorms(bn, rng);
        Tensor x = randn(rng, 4, 5, 3, 3);
        ParityCase c = ParityCase.named("batchnorm2d train momentum=None eps=1e-3").meta("module", "BatchNorm2d")
                .meta("features", 5).meta("momentum", "none").meta("eps", "1e-3");
        ForwardBackward.check(c, bn, x, ForwardBackward.Loss.upstream(randn(rng, 4, 5, 3, 3)), ForwardBackward.Options.layer(true));
    }

    @ParameterizedTest(name = "maxpool2d k={0} s={1} p={2} x={3}x{4}")
    @CsvSource({"3, 2, 1, 11, 13", "2, 2, 0, 8, 9", "3, 1, 1, 5, 6"})
    void maxPool2d(int k, int s, int p, int h, int w) throws Exception {
        // distinct values keep every window's maximum unique, so the gradient's route is unambiguous
        float[] v = dvp.engine.testing.Tensors.distinct(rng, 2 * 3 * h * w, 0.01f);
        Tensor x = Tensor.of(cpu(), v, 2, 3, h, w);
        Tensor dy = randn(rng, 2, 3, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
        ParityCase c = ParityCase.named(String.format("maxpool2d k%d s%d p%d %dx%d", k, s, p, h, w))
                .meta("module", "MaxPool2d").meta("kernel", k).meta("stride", s).meta("padding", p);
        ForwardBackward.check(c, new MaxPool2d(k, s, p), x, ForwardBackward.Loss.upstream(dy), ForwardBackward.Options.layer(true));
    }

    @ParameterizedTest(name = "linear bias={0}")
    @ValueSource(booleans = {true, false})
    void linear(boolean bias) throws Exception {
        Linear lin = new Linear(13, 5, bias, rng);
        ParityCase c = ParityCase.named("linear 13->5" + (bias ? " bias" : "")).meta("module", "Linear")
                .meta("in", 13).meta("out", 5).meta("bias", bias);
        ForwardBackward.check(c, lin, randn(rng, 3, 13), ForwardBackward.Loss.upstream(randn(rng, 3, 5)), ForwardBackward.Options.layer(true));
    }

    @ParameterizedTest(name = "cross-entropy smoothing={0}")
    @ValueSource(floats = {0f, 0.1f, 0.35f})
    void crossEntropy(float smoothing) throws Exception {
        Tensor logits = shifted(randn(rng, 6, 10), 2.5f, 0.3f);
        long[] labels = new long[6];
        for (int i = 0; i < labels.length; i++) labels[i] = rng.nextInt(10);
        Module passThrough = new Identity();
        ParityCase c = ParityCase.named("cross-entropy smoothing " + smoothing).meta("module", "CrossEntropyLoss");
        ForwardBackward.check(c, passThrough, logits, ForwardBackward.Loss.crossEntropy(Tensor.ofLongs(cpu(), labels, 6), smoothing), ForwardBackward.Options.layer(true));
    }

    /** scale * x + shift, so statistics and logits are not centred at 0 with unit spread. */
    private static Tensor shifted(Tensor x, float scale, float shift) {
        float[] v = x.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = v[i] * scale + shift;
        return Tensor.of(cpu(), v, x.shape());
    }
}
