package dvp.engine;

/**
 * The one seeded random source: weight init, data order and augmentation all draw from Rngs
 * derived from the run's seed. SplitMix64: the whole state is one long, so a checkpoint stores
 * it exactly and a resumed run continues the same stream. {@link #fork} derives independent
 * streams (per epoch, per sample) without consuming from this one, which keeps results
 * independent of thread count.
 */
public final class Rng {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private long state;

    public Rng(long seed) { this.state = mix(seed ^ 0x5DEECE66DL); }

    private Rng(long state, boolean raw) { this.state = state; }

    /** Restores a generator from {@link #state()}. */
    public static Rng fromState(long state) { return new Rng(state, true); }

    public long state() { return state; }

    /** An independent stream keyed by (this stream's current state, key); does not advance this. */
    public Rng fork(long key) { return new Rng(mix(state ^ mix(key + GOLDEN)), true); }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public long nextLong() { return mix(state += GOLDEN); }

    /** Uniform in [0, 1) with 24 random bits. */
    public float nextFloat() { return (nextLong() >>> 40) * 0x1.0p-24f; }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() { return (nextLong() >>> 11) * 0x1.0p-53; }

    public double uniform(double lo, double hi) { return lo + (hi - lo) * nextDouble(); }

    /** Uniform integer in [0, bound). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive: " + bound);
        // Lemire's multiply-shift with rejection: unbiased
        long m = (nextLong() >>> 32) * bound;
        long l = m & 0xFFFFFFFFL;
        if (l < bound) {
            long t = (0x1_0000_0000L - bound) % bound;
            while (l < t) {
                m = (nextLong() >>> 32) * bound;
                l = m & 0xFFFFFFFFL;
            }
        }
        return (int) (m >>> 32);
    }

    /** Uniform integer in [lo, hi] inclusive. */
    public int nextIntInclusive(int lo, int hi) { return lo + nextInt(hi - lo + 1); }

    public boolean bernoulli(double p) { return nextDouble() < p; }

    /** Standard normal (Box–Muller; consumes two uniforms, keeps no spare so the state is one long). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble(); // (0, 1]
        double u2 = nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        return p;
    }

    public float[] normal(int n, double mean, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (mean + std * nextGaussian());
        return out;
    }

    public float[] uniformArray(int n, double lo, double hi) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) uniform(lo, hi);
        return out;
    }
}
