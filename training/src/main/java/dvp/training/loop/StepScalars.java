package dvp.training.loop;

import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;

import java.util.Arrays;

/**
 * Per-step scalars (loss, accuracy ...) kept on the device and read to the host once per logging
 * interval: each step copies its rank-0 results into its slot (no synchronisation); {@link #drain}
 * reads every slot with one transfer. Keeping every step's value (not a running sum) lets the
 * NaN/Inf guard name the exact step at which a loss first went bad. Each step carries a weight (its
 * batch's images), so means over steps are per-image means, as the reference code's AverageMeter
 * ({@code update(loss, images.size(0))}) reports them when the last batch is smaller.
 *
 * <p>The buffer lives in the scope open at construction (the trainer's, not a step's).
 */
public final class StepScalars {
    private final String[] names;
    private final int capacity;
    private final Tensor slots; // [capacity * names], row-major: step-major
    private final long[] steps;
    private final int[] weights;
    private int used;

    public StepScalars(Backend backend, int capacity, String... names) {
        if (capacity <= 0 || names.length == 0) throw new IllegalArgumentException("StepScalars: need capacity > 0 and at least one name");
        this.names = names.clone();
        this.capacity = capacity;
        this.slots = Tensor.zeros(backend, capacity * names.length);
        this.steps = new long[capacity];
        this.weights = new int[capacity];
    }

    public String[] names() { return names.clone(); }

    public int size() { return used; }

    public boolean isFull() { return used == capacity; }

    /**
     * Records step {@code step}'s values (rank-0 or 1-element F32 tensors, in {@link #names} order),
     * each a mean over the step's {@code weight} images.
     */
    public void record(long step, int weight, Tensor... values) {
        if (weight <= 0) throw new IllegalArgumentException("StepScalars: step " + step + " has weight " + weight + "; a step covers at least one image");
        if (values.length != names.length)
            throw new IllegalArgumentException("StepScalars: " + values.length + " values for " + Arrays.toString(names));
        if (used == capacity) throw new IllegalStateException("StepScalars: full (" + capacity + " steps); drain first");
        for (int j = 0; j < values.length; j++) {
            Tensor v = values[j];
            if (v.numel() != 1 || v.dtype() != DType.F32)
                throw new IllegalArgumentException("StepScalars: '" + names[j] + "' must be one F32 value, got " + v.describe());
            slots.backend().copy(v.isContiguous() ? v.view(1) : v.copyContiguous().view(1), slots.narrow0(used * names.length + j, 1));
        }
        steps[used] = step;
        weights[used++] = weight;
    }

    /** What {@link #drain} returns: the steps recorded, their weights, and values[name][i] of step steps[i]. */
    public record Drained(long[] steps, int[] weights, float[][] values) {
        public int count() { return steps.length; }

        /** Mean of a column over the drained steps, each weighted by its images (NaN when empty). */
        public double mean(int name) {
            double s = 0;
            long w = 0;
            for (int i = 0; i < steps.length; i++) {
                s += (double) weights[i] * values[name][i];
                w += weights[i];
            }
            return w == 0 ? Double.NaN : s / w;
        }
    }

    /** Reads every recorded step (one device→host transfer) and empties the buffer. */
    public Drained drain() {
        int n = used;
        float[][] out = new float[names.length][n];
        if (n > 0) {
            float[] all = slots.narrow0(0, n * names.length).toFloatArray();
            for (int i = 0; i < n; i++) for (int j = 0; j < names.length; j++) out[j][i] = all[i * names.length + j];
        }
        long[] st = Arrays.copyOf(steps, n);
        int[] w = Arrays.copyOf(weights, n);
        used = 0;
        return new Drained(st, w, out);
    }
}
