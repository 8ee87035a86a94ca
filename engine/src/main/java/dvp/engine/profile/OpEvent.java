package dvp.engine.profile;

import dvp.engine.DType;

/**
 * One primitive call as the profiler saw it: which primitive, the shapes of its tensors (inputs,
 * then outputs), its non-tensor arguments, the FLOPs and bytes it implies ({@link OpCosts}), its
 * host dispatch interval and its device execution interval.
 *
 * <p>Times are nanoseconds on the host's {@link System#nanoTime} timeline. On a backend without a
 * {@link DeviceClockSource} (the CPU) the device interval is the host interval. On a device
 * backend the device interval is known only after the profiler has synchronised at the end of a
 * step; it is placed on the host timeline at the host time the window's first marker was
 * enqueued, so durations are exact and offsets between the two tracks approximate.
 */
public final class OpEvent {
    private final Primitive op;
    private final String[] names;
    private final int[][] shapes;
    private final DType[] dtypes;
    private final int firstOutput;
    private final String detail;
    private final long flops, bytes;
    private final long hostStartNs, hostEndNs;
    private final long step;
    private final String thread;
    final int startMark, endMark;
    private double deviceStartNs, deviceEndNs;
    private String signature;

    OpEvent(Primitive op, String[] names, int[][] shapes, DType[] dtypes, int firstOutput, String detail, long flops, long bytes,
            long hostStartNs, long hostEndNs, long step, String thread, int startMark, int endMark) {
        this.op = op;
        this.names = names;
        this.shapes = shapes;
        this.dtypes = dtypes;
        this.firstOutput = firstOutput;
        this.detail = detail;
        this.flops = flops;
        this.bytes = bytes;
        this.hostStartNs = hostStartNs;
        this.hostEndNs = hostEndNs;
        this.step = step;
        this.thread = thread;
        this.startMark = startMark;
        this.endMark = endMark;
        this.deviceStartNs = hostStartNs;
        this.deviceEndNs = hostEndNs;
    }

    public Primitive op() { return op; }

    public String name() { return op.opName(); }

    /** Argument names, parallel to {@link #shapes()}; a null shape is an optional tensor not given. */
    public String[] argNames() { return names.clone(); }

    public int[][] shapes() {
        int[][] s = new int[shapes.length][];
        for (int i = 0; i < s.length; i++) s[i] = shapes[i] == null ? null : shapes[i].clone();
        return s;
    }

    /** Index into {@link #argNames()} of the first output (arguments before it are read only). */
    public int firstOutput() { return firstOutput; }

    /** Non-tensor arguments that change the work ("stride 2 pad 3", "A^T"), "" when none. */
    public String detail() { return detail; }

    public long flops() { return flops; }

    public long bytes() { return bytes; }

    public long hostStartNs() { return hostStartNs; }

    public long hostEndNs() { return hostEndNs; }

    public long hostNanos() { return hostEndNs - hostStartNs; }

    public double deviceStartNs() { return deviceStartNs; }

    public double deviceEndNs() { return deviceEndNs; }

    /** Execution time: device time where the backend has a device clock, else host wall time. */
    public double deviceNanos() { return deviceEndNs - deviceStartNs; }

    /** The profiler step this call belongs to, or -1 outside steps. */
    public long step() { return step; }

    public String thread() { return thread; }

    void resolveDevice(double startNs, double endNs) {
        deviceStartNs = startNs;
        deviceEndNs = endNs;
    }

    /**
     * The shapes as one line, inputs then outputs after an arrow, dtype shown where it is not F32:
     * {@code x[8,64,56,56] w[64,64,3,3] -> y[8,64,56,56] stride 1 pad 1}. Calls with equal
     * signatures do the same work; the profiler's tables group by it.
     */
    public String signature() {
        String s = signature;
        if (s == null) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < names.length; i++) {
                if (shapes[i] == null) continue;
                if (i == firstOutput || (i > firstOutput && b.indexOf("->") < 0)) b.append(b.isEmpty() ? "-> " : " -> ");
                else if (!b.isEmpty()) b.append(' ');
                b.append(names[i]);
                if (dtypes[i] != DType.F32) b.append(':').append(dtypes[i].name().toLowerCase(java.util.Locale.ROOT));
                appendShape(b, shapes[i]);
            }
            if (!detail.isEmpty()) b.append(' ').append(detail);
            signature = s = b.toString();
        }
        return s;
    }

    static void appendShape(StringBuilder b, int[] shape) {
        b.append('[');
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) b.append(',');
            b.append(shape[i]);
        }
        b.append(']');
    }

    @Override
    public String toString() { return name() + " " + signature(); }
}
