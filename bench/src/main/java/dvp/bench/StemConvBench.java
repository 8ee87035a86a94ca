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
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The ResNet stem's convolution (3 -> 64 channels, 7x7, stride 2, padding 3) on the CPU backend at the
 * ResNet-18 step's shape (112 px, batch 32): forward and backward-filter (the stem needs no input
 * gradient). Its strided 3-channel column packing is what sets it apart from ConvBench's 3x3 convs.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class StemConvBench {
    private Scope data;
    private Backend be;
    private Tensor x, w, y, dy, dw;
    private final ConvSpec spec = ConvSpec.of(2, 3, 1);

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        be = Backends.cpu();
        Rng rng = new Rng(6);
        x = Tensor.of(be, rng.normal(32 * 3 * 112 * 112, 0, 1), 32, 3, 112, 112);
        w = Tensor.of(be, rng.normal(64 * 3 * 49, 0, 0.05), 64, 3, 7, 7);
        dy = Tensor.of(be, rng.normal(32 * 64 * 56 * 56, 0, 1), 32, 64, 56, 56);
        y = Tensor.empty(be, DType.F32, 32, 64, 56, 56);
        dw = Tensor.empty(be, DType.F32, 64, 3, 7, 7);
    }

    @TearDown(Level.Trial)
    public void tearDown() { data.close(); }

    @Benchmark
    public Tensor forward() {
        be.conv2dForward(x, w, y, spec);
        return y;
    }

    @Benchmark
    public Tensor backwardFilter() {
        be.conv2dBackwardFilter(x, dy, dw, spec);
        return dw;
    }
}
