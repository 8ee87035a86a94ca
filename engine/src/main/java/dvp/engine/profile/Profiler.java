package dvp.engine.profile;

import dvp.engine.DType;
import dvp.engine.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One profiling session on a {@link ProfilingBackend}: while it is open, every primitive the
 * backend dispatches is timed and recorded as an {@link OpEvent} (when {@link Options#recordOps})
 * and/or wrapped in an NVTX range (when {@link Options#nvtx}). Steps ({@link #stepBegin}/{@link
 * #stepEnd}) and user ranges ({@link #range}) group the calls. Closing detaches it from the
 * backend, which is then a plain pass-through again.
 *
 * <p>Device times: when the wrapped backend is a {@link DeviceClockSource}, each call is bracketed
 * by two device markers, and {@link #stepEnd} synchronises once and turns the markers of the
 * step into device times. Nothing else synchronises, so the profiled step keeps its asynchrony
 * apart from that one wait per step. Without a device clock (CPU) device time = host time.
 *
 * <p>Profiling never changes results: the decorator passes the same arguments to the same
 * primitives in the same order; it only reads shapes and clocks.
 */
public final class Profiler implements AutoCloseable {
    /**
     * @param recordOps time and record every primitive (the tables and the trace)
     * @param nvtx      push an NVTX range around every primitive, step and user range (for Nsight);
     *                  ignored when no NVTX library is found ({@link Nvtx#status()} says why)
     */
    public record Options(boolean recordOps, boolean nvtx) {
        public static Options record() { return new Options(true, false); }
    }

    /** What one call carries from {@link #begin} to {@link #end}. */
    static final class Call {
        final Primitive op;
        final long hostStart;
        final int startMark;

        Call(Primitive op, long hostStart, int startMark) {
            this.op = op;
            this.hostStart = hostStart;
            this.startMark = startMark;
        }
    }

    private static final class OpenSpan {
        final String kind, name, thread;
        final long index, hostStart;
        final int startMark;
        long hostEnd = -1;
        int endMark = -1;
        double devStart, devEnd;

        OpenSpan(String kind, String name, long index, long hostStart, int startMark) {
            this.kind = kind;
            this.name = name;
            this.index = index;
            this.hostStart = hostStart;
            this.startMark = startMark;
            this.thread = Thread.currentThread().getName();
            this.devStart = hostStart;
        }

        Span freeze() { return new Span(kind, name, index, hostStart, hostEnd, devStart, devEnd, thread); }
    }

    private final ProfilingBackend backend;
    private final Options options;
    private final Nvtx nvtx;
    private final DeviceClock clock;
    private final long originNs;
    private final List<OpEvent> events = new ArrayList<>();
    private final List<OpenSpan> spans = new ArrayList<>();
    private OpenSpan openStep;
    private long step = -1;
    private boolean closed;
    // device window: markers since the last flush are resolved relative to windowMark
    private int windowMark;
    private long windowHostNs;
    private int pendingEvents, pendingSpans;

    Profiler(ProfilingBackend backend, Options options) {
        this.backend = backend;
        this.options = options;
        this.nvtx = options.nvtx() ? Nvtx.get() : null;
        this.clock = options.recordOps() && backend.inner() instanceof DeviceClockSource s ? s.openDeviceClock() : null;
        if (clock != null) {
            backend.inner().synchronize();
            windowMark = clock.mark();
            windowHostNs = System.nanoTime();
        }
        this.originNs = System.nanoTime();
    }

    /** Host {@link System#nanoTime} when the session started (the trace's time zero). */
    public long originNs() { return originNs; }

    /** The backend's name, and whether its times are device times ("cuda events") or host wall time. */
    public String backendName() { return backend.inner().name(); }

    /** True when op times come from device markers, false when they are host wall time (which then is device time). */
    public boolean hasDeviceClock() { return clock != null; }

    public Options options() { return options; }

    // ---- calls (from ProfilingBackend) ---------------------------------------------------------------

    Call begin(Primitive op) {
        if (nvtx != null) nvtx.push(op.opName());
        if (!options.recordOps()) return null;
        int mark = clock == null ? -1 : mark();
        return new Call(op, System.nanoTime(), mark);
    }

    /**
     * Ends a call. {@code io} are the primitive's tensor arguments in declaration order, named by
     * {@code names}; those from {@code firstOutput} on are written. Null tensors (optional
     * arguments not given) are kept as null shapes.
     */
    void end(Call c, String[] names, int firstOutput, String detail, long flops, long bytes, Tensor... io) {
        if (c != null) {
            long hostEnd = System.nanoTime();
            int endMark = clock == null ? -1 : mark();
            int[][] shapes = new int[io.length][];
            DType[] dtypes = new DType[io.length];
            for (int i = 0; i < io.length; i++) {
                if (io[i] == null) continue;
                shapes[i] = io[i].shape();
                dtypes[i] = io[i].dtype();
            }
            OpEvent e = new OpEvent(c.op, names, shapes, dtypes, firstOutput, detail, flops, bytes, c.hostStart, hostEnd,
                    step, Thread.currentThread().getName(), c.startMark, endMark);
            synchronized (this) {
                events.add(e);
            }
        }
        if (nvtx != null) nvtx.pop();
    }

    private int mark() {
        synchronized (clock) {
            return clock.mark();
        }
    }

    // ---- steps and ranges ------------------------------------------------------------------------------

    /** Starts step {@code index}: calls until {@link #stepEnd} are attributed to it. */
    public void stepBegin(long index) {
        if (openStep != null) throw new IllegalStateException("profiler: step " + openStep.index + " is still open (call stepEnd first)");
        String name = "step " + index;
        if (nvtx != null) nvtx.push(name);
        step = index;
        int startMark = clock == null ? -1 : mark();  // device markers bracket the host interval, as for calls
        openStep = new OpenSpan("step", name, index, System.nanoTime(), startMark);
    }

    /**
     * Ends the open step. With a device clock this synchronises with the device once and resolves
     * the device times of every call made since the last step ended.
     */
    public void stepEnd() {
        if (openStep == null) throw new IllegalStateException("profiler: stepEnd without stepBegin");
        OpenSpan s = openStep;
        s.hostEnd = System.nanoTime();
        if (clock != null) s.endMark = mark();
        s.devEnd = s.hostEnd;
        synchronized (this) {
            spans.add(s);
        }
        openStep = null;
        step = -1;
        if (nvtx != null) nvtx.pop();
        flushDevice();
    }

    /** A user range on the host track ("forward", "backward", "optimizer"); close it to end it. */
    public Range range(String name) {
        if (nvtx != null) nvtx.push(name);
        OpenSpan s = new OpenSpan("range", name, step, System.nanoTime(), -1);
        return () -> {
            s.hostEnd = System.nanoTime();
            s.devEnd = s.hostEnd;
            synchronized (this) {
                spans.add(s);
            }
            if (nvtx != null) nvtx.pop();
        };
    }

    /** An open user range; {@link #close()} ends it. */
    public interface Range extends AutoCloseable {
        @Override
        void close();
    }

    private void flushDevice() {
        if (clock == null) return;
        backend.inner().synchronize();
        synchronized (this) {
            for (int i = pendingEvents; i < events.size(); i++) {
                OpEvent e = events.get(i);
                e.resolveDevice(deviceNs(e.startMark), deviceNs(e.endMark));
            }
            for (int i = pendingSpans; i < spans.size(); i++) {
                OpenSpan s = spans.get(i);
                if (s.startMark >= 0) {
                    s.devStart = deviceNs(s.startMark);
                    s.devEnd = deviceNs(s.endMark);
                }
            }
            pendingEvents = events.size();
            pendingSpans = spans.size();
            clock.reset();
            windowMark = clock.mark();
            windowHostNs = System.nanoTime();
        }
    }

    private double deviceNs(int mark) { return windowHostNs + clock.nanosBetween(windowMark, mark); }

    // ---- results ----------------------------------------------------------------------------------------

    /** The calls recorded so far, in dispatch order (device times final only for ended steps). */
    public synchronized List<OpEvent> events() { return Collections.unmodifiableList(new ArrayList<>(events)); }

    /** Ended steps, in order. */
    public synchronized List<Span> steps() {
        return spans.stream().filter(s -> s.kind.equals("step")).map(OpenSpan::freeze).toList();
    }

    /** Ended user ranges, in the order they ended. */
    public synchronized List<Span> ranges() {
        return spans.stream().filter(s -> s.kind.equals("range")).map(OpenSpan::freeze).toList();
    }

    /** Discards what was recorded (e.g. warm-up steps), keeping the session open. */
    public synchronized void clear() {
        if (openStep != null) throw new IllegalStateException("profiler: clear() inside step " + openStep.index);
        flushDevice();
        events.clear();
        spans.clear();
        pendingEvents = pendingSpans = 0;
    }

    public boolean isClosed() { return closed; }

    /**
     * Detaches from the backend until {@link #resume}: calls in between take the backend's
     * unprofiled path exactly (how {@code dvp profile} interleaves unprofiled baseline steps with
     * profiled ones, so drift of a shared machine cancels out of the overhead figure).
     */
    public void pause() {
        if (openStep != null) throw new IllegalStateException("profiler: pause() inside step " + openStep.index);
        if (!closed) backend.detach(this);
    }

    /** Re-attaches after {@link #pause}. */
    public void resume() {
        if (closed) throw new IllegalStateException("profiler: resume() after close()");
        backend.reattach(this);
    }

    /** Detaches from the backend (which becomes a pass-through) and resolves outstanding device times. */
    @Override
    public void close() {
        if (closed) return;
        if (openStep != null) stepEnd();  // a step left open by an exception still ends on the trace
        closed = true;
        backend.detach(this);
        flushDevice();
        if (clock != null) clock.close();
    }
}
