package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.testing.SplitBits;
import dvp.nn.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dvp.engine.testing.SplitBits.assertSplitIndependent;
import static dvp.engine.testing.Tensors.cpu;

/**
 * Two SGD steps (the second with momentum) of a small ResNet-18 give the same bits whatever the CPU thread count
 * ({@link SplitBits}: parallel loops cut into 1, 2, 3 and 5 pieces): the losses, every parameter,
 * BN running statistic and momentum buffer afterwards. The network is wide enough (small stem at
 * 29×31 px) that its convolutions really split between tasks.
 */
class TrainingStepThreadCountIndependenceTest {
    @Test void resnetSgdStepsAreBitIdenticalForEverySplit() {
        int batch = 5, classes = 10, h = 29, w = 31, steps = 2;
        Rng data = new Rng(5);
        float[][] images = new float[steps][];
        long[][] labels = new long[steps][batch];
        for (int s = 0; s < steps; s++) {
            images[s] = data.normal(batch * 3 * h * w, 0, 1);
            for (int i = 0; i < batch; i++) labels[s][i] = data.nextInt(classes);
        }
        assertSplitIndependent("ResNet-18 (width 1/4, small stem) SGD steps", out -> {
            ResNet net = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(0.25).smallStem(true).numClasses(classes).build(new Rng(17));
            net.train();
            try (Sgd sgd = Sgd.builder(0.05).momentum(0.9).weightDecay(5e-4).nesterov(true).group(net.namedParameters()).build()) {
                for (int s = 0; s < steps; s++) {
                    try (Scope step = Scope.open("step")) {
                        sgd.zeroGrad();
                        Tensor x = Tensor.of(cpu(), images[s], batch, 3, h, w);
                        Tensor loss = Losses.crossEntropy(net.forward(x), Tensor.ofLongs(cpu(), labels[s], batch), 0.1f);
                        loss.backward();
                        sgd.step();
                        out.put("loss " + s, loss.item());
                    }
                }
                for (Map.Entry<String, Tensor> e : net.stateDict().entrySet())
                    if (e.getValue().dtype() == dvp.engine.DType.F32) out.put(e.getKey(), e.getValue().toFloatArray());
                for (Map.Entry<String, Tensor> e : sgd.momentumBuffers().entrySet()) out.put("momentum " + e.getKey(), e.getValue().toFloatArray());
            }
        });
    }
}
