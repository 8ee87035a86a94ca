package dvp.bench;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.spi.ConvSpec;
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
 * A ResNet-shaped 3x3 convolution (stride 1, padding 1, C -> C channels at S x S, batch 8) on the CPU
 * backend: forward, backward-data (input gradient) and backward-filter (weight gradient), each a
 * separate primitive call. bench/pytorch/conv_baseline.py times the same three kernels in PyTorch.
 * Which convolution code runs is the CPU backend's choice: DVP_CPU_CONV=onednn|java in the environment
 * (the forked JVM inherits it; run-cpu-bench.sh times both), oneDNN by default where it loads.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class ConvBench {
    /** channels x spatial size: layer1 and layer3 of a ResNet at 224 px. */
    @Param({"64x56", "256x14"})
    public String shape;

    @Param({"8"})
    public int batch;

    private Scope data;
    private Backend be;
    private Tensor x, w, y, dy, dx, dw;
    private final ConvSpec spec = ConvSpec.of(1, 1, 1);

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        be = Backends.cpu();
        String[] p = shape.split("x");
        int c = Integer.parseInt(p[0]), s = Integer.parseInt(p[1]);
        Rng rng = new Rng(3);
        x = Tensor.of(be, rng.normal(batch * c * s * s, 0, 1), batch, c, s, s);
        w = Tensor.of(be, rng.normal(c * c * 9, 0, 0.05), c, c, 3, 3);
        dy = Tensor.of(be, rng.normal(batch * c * s * s, 0, 1), batch, c, s, s);
        y = Tensor.empty(be, DType.F32, batch, c, s, s);
        dx = Tensor.empty(be, DType.F32, batch, c, s, s);
        dw = Tensor.empty(be, DType.F32, c, c, 3, 3);
    }

    @TearDown(Level.Trial)
    public void tearDown() { data.close(); }

    @Benchmark
    public Tensor forward() {
        be.conv2dForward(x, w, y, spec);
        return y;
    }

    @Benchmark
    public Tensor backwardData() {
        be.conv2dBackwardData(dy, w, dx, spec);
        return dx;
    }

    @Benchmark
    public Tensor backwardFilter() {
        be.conv2dBackwardFilter(x, dy, dw, spec);
        return dw;
    }
}
