package dvp.bench.profile;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.profile.Profiler;
import dvp.engine.profile.ProfilingBackend;
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
 * Cost of the profiling hook per primitive call: a 16-element ReLU (so the call itself is tiny and
 * the hook's cost shows) dispatched on the plain CPU backend ({@code raw}), through the
 * profiling decorator with no profiler attached ({@code off}: one volatile read more), and with a
 * profiler recording ({@code recording}: two clock reads, shape copies, one event object).
 * The recording is cleared every iteration so memory stays bounded.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow"})
public class ProfilerOverheadBench {
    @Param({"raw", "off", "recording"})
    public String mode;

    @Param({"16"})
    public int elements;

    private Scope data;
    private Backend be;
    private Profiler profiler;
    private Tensor x, y;

    @Setup(Level.Trial)
    public void setUp() {
        data = Scope.open("bench");
        Backend cpu = Backends.cpu();
        be = mode.equals("raw") ? cpu : ProfilingBackend.wrap(cpu);
        x = Tensor.full(be, -0.5, elements);
        y = Tensor.empty(be, DType.F32, elements);
        if (mode.equals("recording")) profiler = ((ProfilingBackend) be).start(Profiler.Options.record());
    }

    @Setup(Level.Iteration)
    public void clearRecording() {
        if (profiler != null) profiler.clear();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (profiler != null) profiler.close();
        data.close();
    }

    @Benchmark
    public Tensor relu() {
        be.relu(x, y);
        return y;
    }
}
