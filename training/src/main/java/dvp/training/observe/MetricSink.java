package dvp.training.observe;

import java.io.Closeable;
import java.io.IOException;

/** One destination of metric rows (CSV, JSONL, TensorBoard, in-memory history). */
interface MetricSink extends Closeable {
    void write(MetricRow row) throws IOException;

    /** Makes everything written so far visible to readers (called every few seconds and on close). */
    void flush() throws IOException;

    /** After {@link #flush}: forces what was written to disk (with every checkpoint, which is durable too). */
    default void sync() throws IOException {}
}
