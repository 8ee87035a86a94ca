package dvp.bench;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.models.ResNet;
import dvp.nn.optim.Sgd;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One CPU training step of a torchvision-shaped ResNet on random images: zero grads, forward,
 * cross-entropy, backward, SGD (momentum 0.9, weight decay 1e-4), all inside a step scope that frees
 * the step's tensors. Images/s = batch / time. bench/pytorch/resnet_step_baseline.py runs the same
 * step with torchvision's model. The convolutions run oneDNN or dvp's own kernels as DVP_CPU_CONV says
 * (inherited by the forked JVM; oneDNN by default where it loads).
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 6)
@Measurement(iterations = 8)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class ResNetStepBench {
    @Param({"RESNET18"})
    public String arch;

    @Param({"112"})
    public int px;

    @Param({"32"})
    public int batch;

    private Scope data;
    private ResNet net;
    private Sgd opt;
    private Tensor images, labels;

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        Backend be = Backends.cpu();
        Rng rng = new Rng(1);
        net = ResNet.builder(ResNet.Arch.valueOf(arch)).numClasses(1000).build(rng);
        net.train();
        opt = Sgd.builder(0.01).momentum(0.9).weightDecay(1e-4).group(net.namedParameters()).build();
        images = Tensor.of(be, rng.normal(batch * 3 * px * px, 0, 1), batch, 3, px, px);
        long[] y = new long[batch];
        for (int i = 0; i < batch; i++) y[i] = i % 1000;
        labels = Tensor.ofLongs(be, y, batch);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        opt.close();
        data.close();
    }

    @Benchmark
    public float step() {
        try (Scope step = Scope.open("step")) {
            opt.zeroGrad();
            Tensor loss = Losses.crossEntropy(net.forward(images), labels);
            loss.backward();
            opt.step();
            return loss.item();
        }
    }
}
