package dvp.cli.train;

import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** A PrintStream onto a command's PrintWriter, for library code that reports on a stream (sessions, pipelines). */
final class WriterStream {
    private WriterStream() {}

    static PrintStream of(PrintWriter w) {
        return new PrintStream(new OutputStream() {
            @Override public void write(int b) { w.write(b); }
            @Override public void write(byte[] b, int off, int len) { w.write(new String(b, off, len, StandardCharsets.UTF_8)); }
            @Override public void flush() { w.flush(); }
        }, true, StandardCharsets.UTF_8);
    }
}
