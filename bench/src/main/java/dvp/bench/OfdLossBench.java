package dvp.bench;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Distill;
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
 * The OFD partial-L2 primitives on the CPU backend at ResNet-50 stage shapes (224 px input) for
 * a CPU-sized batch: forward (reads s and t: 8 bytes per element), backward (reads s and t,
 * writes ds: 12 bytes per element), and a plain copy of one feature map (8 bytes per element)
 * as the memory-bandwidth yardstick of the same machine.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class OfdLossBench {
    /** ResNet-50 stage (1..4): C = 256·2^(i−1), H = W = 56/2^(i−1) at 224 px. */
    @Param({"1", "2", "3", "4"})
    public int stage;

    @Param({"8"})
    public int batch;

    private Scope data;
    private Backend be;
    private Tensor s, t, margin, loss, gradOut, ds, copy;
    private int channelStride;

    @Setup(Level.Trial)
    public void setup() {
        data = Scope.open("bench");
        be = Backends.cpu();
        int c = 256 << (stage - 1), hw = 56 >> (stage - 1);
        Rng rng = new Rng(stage);
        float[] gamma = rng.normal(c, 0, 1), beta = rng.normal(c, 0, 1);
        margin = Distill.ofdMargin(Tensor.of(be, gamma, c), Tensor.of(be, beta, c));
        s = Tensor.of(be, rng.normal(batch * c * hw * hw, 0, 1), batch, c, hw, hw);
        t = Tensor.of(be, rng.normal(batch * c * hw * hw, 0, 1), batch, c, hw, hw);
        loss = Tensor.empty(be, DType.F32);
        gradOut = Tensor.scalar(be, 1e-4f);
        ds = Tensor.empty(be, DType.F32, batch, c, hw, hw);
        copy = Tensor.empty(be, DType.F32, batch, c, hw, hw);
        channelStride = hw * hw;
    }

    @TearDown(Level.Trial)
    public void tearDown() { data.close(); }

    @Benchmark
    public Tensor forward() {
        be.ofdLossForward(s, t, margin, 0.125f, channelStride, loss);
        return loss;
    }

    @Benchmark
    public Tensor backward() {
        be.ofdLossBackward(s, t, margin, 0.125f, channelStride, gradOut, ds);
        return ds;
    }

    /** Copy bandwidth yardstick: one read and one write of a feature map. */
    @Benchmark
    public Tensor copyFeatureMap() {
        be.copy(s, copy);
        return copy;
    }
}
