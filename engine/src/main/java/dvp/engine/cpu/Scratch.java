package dvp.engine.cpu;

/**
 * Reusable on-heap work arrays for kernels that need a temporary (channels-last copies, column
 * buffers), one set per calling thread, grown on demand and never shrunk, so a training loop does not
 * allocate (and the GC does not scan) tens of megabytes per step. Slots are numbered by the caller;
 * a kernel must not hand its slot to another kernel that could use the same slot concurrently.
 */
final class Scratch {
    /** Slots 0..3 belong to the calling kernel (CpuConv); Sgemm's shared packed A has its own. */
    static final int SGEMM_A = 4;
    static final int SLOTS = 5;
    private static final ThreadLocal<float[][]> ARRAYS = ThreadLocal.withInitial(() -> new float[SLOTS][0]);

    private Scratch() {}

    /** An array of at least `size` floats in this thread's slot (contents undefined). */
    static float[] get(int slot, long size) {
        if (size > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("cpu: scratch buffer of " + size + " floats is too large");
        float[][] a = ARRAYS.get();
        if (a[slot].length < size) a[slot] = new float[(int) size];
        return a[slot];
    }
}
