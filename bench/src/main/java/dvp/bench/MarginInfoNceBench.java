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
 * The fused margin-InfoNCE primitive on the CPU backend at MoCo's shapes (N = 256, d = 128):
 * loss + accuracy + dq in one pass over the queue (training), and loss + accuracy alone (no grad).
 * Calls the backend directly with preallocated outputs, so nothing but the kernel is timed.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class MarginInfoNceBench {
    @Param({"4096", "16384", "65536"})
    public int queue;

    static final int N = 256, D = 128;

    private Scope data;
    private Backend be;
    private Tensor q, kPos, keys, loss, accuracy, dq;

    static Tensor unitRows(Backend be, Rng rng, int rows, int d) {
        float[] v = rng.normal(rows * d, 0, 1);
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double) v[r * d + c] * v[r * d + c];
            for (int c = 0; c < d; c++) v[r * d + c] /= (float) Math.sqrt(s);
        }
        return Tensor.of(be, v, rows, d);
    }

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        be = Backends.cpu();
        Rng rng = new Rng(1);
        q = unitRows(be, rng, N, D);
        kPos = unitRows(be, rng, N, D);
        keys = unitRows(be, rng, queue, D);
        loss = Tensor.empty(be, DType.F32);
        accuracy = Tensor.empty(be, DType.F32);
        dq = Tensor.empty(be, DType.F32, N, D);
    }

    @TearDown(Level.Trial)
    public void tearDown() { data.close(); }

    /** The training call: loss, accuracy and the query gradient. */
    @Benchmark
    public Tensor lossAndGrad() {
        be.marginInfoNceForward(q, kPos, keys, 0.4f, 0.2f, loss, accuracy, dq);
        return dq;
    }

    /** Without a gradient (evaluation / no-grad). */
    @Benchmark
    public Tensor lossOnly() {
        be.marginInfoNceForward(q, kPos, keys, 0.4f, 0.2f, loss, accuracy, null);
        return loss;
    }
}
