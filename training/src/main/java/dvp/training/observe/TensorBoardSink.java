package dvp.training.observe;

import java.io.IOException;
import java.util.Map;

/** Metric rows as TensorBoard scalars tagged {@code <group>/<name>}. */
final class TensorBoardSink implements MetricSink {
    private final TensorBoardWriter tb;

    TensorBoardSink(TensorBoardWriter tb) { this.tb = tb; }

    @Override
    public void write(MetricRow row) {
        for (Map.Entry<String, Double> e : row.values().entrySet())
            tb.scalar(row.group() + "/" + e.getKey(), row.step(), row.wallTime(), e.getValue().floatValue());
    }

    @Override
    public void flush() { tb.flush(); }

    @Override
    public void sync() throws IOException { dvp.training.run.AtomicFiles.fsync(tb.file()); }

    @Override
    public void close() throws IOException { tb.close(); }
}
