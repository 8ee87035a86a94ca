package dvp.bench;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.spi.PoolSpec;
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
 * The ResNet stem's max pool (3x3, stride 2, padding 1) on the CPU backend at the ResNet-18 step's
 * shape (112 px, batch 32: [32,64,56,56] -> [32,64,28,28]): forward (values + argmax) and backward.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class MaxPoolBench {
    private Scope data;
    private Backend be;
    private Tensor x, y, argmax, dy, dx;
    private final PoolSpec spec = new PoolSpec(3, 2, 1);

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        be = Backends.cpu();
        Rng rng = new Rng(5);
        x = Tensor.of(be, rng.normal(32 * 64 * 56 * 56, 0, 1), 32, 64, 56, 56);
        y = Tensor.empty(be, DType.F32, 32, 64, 28, 28);
        argmax = Tensor.empty(be, DType.I32, 32, 64, 28, 28);
        dy = Tensor.of(be, rng.normal(32 * 64 * 28 * 28, 0, 1), 32, 64, 28, 28);
        dx = Tensor.empty(be, DType.F32, 32, 64, 56, 56);
        be.maxPool2dForward(x, y, argmax, spec);
    }

    @TearDown(Level.Trial)
    public void tearDown() { data.close(); }

    @Benchmark
    public Tensor forward() {
        be.maxPool2dForward(x, y, argmax, spec);
        return y;
    }

    @Benchmark
    public Tensor backward() {
        be.maxPool2dBackward(dy, argmax, dx);
        return dx;
    }
}
