package dvp.bench;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
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
 * CPU SGEMM through the backend primitive (C = A @ B, row-major, all cores): n x n x n.
 * GFLOP/s = 2 n^3 / time; bench/pytorch/gemm_baseline.py times numpy (OpenBLAS) on the same shape.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class GemmBench {
    @Param({"1024"})
    public int n;

    private Scope data;
    private Backend be;
    private Tensor a, b, c;

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        be = Backends.cpu();
        Rng rng = new Rng(1);
        a = Tensor.of(be, rng.normal(n * n, 0, 1), n, n);
        b = Tensor.of(be, rng.normal(n * n, 0, 1), n, n);
        c = Tensor.empty(be, DType.F32, n, n);
    }

    @TearDown(Level.Trial)
    public void tearDown() { data.close(); }

    @Benchmark
    public Tensor sgemm() {
        be.matmul(a, false, b, false, c, 1f, 0f);
        return c;
    }
}
