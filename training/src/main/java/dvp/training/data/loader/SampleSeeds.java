package dvp.training.data.loader;

import dvp.engine.Rng;

/**
 * Where the loader's randomness comes from, so it depends only on (seed, epoch, sample index,
 * view) and never on which thread did the work or in which order: the epoch's order is a
 * permutation from {@code Rng(seed).fork(ORDER).fork(epoch)}; sample i's view v draws from
 * {@code Rng(seed).fork(AUGMENT).fork(epoch).fork(i).fork(v)}. A GPU augmentation path samples its
 * parameters from the same streams.
 */
public final class SampleSeeds {
    private static final long ORDER = 0x4F52444552L, AUGMENT = 0x4155474DL;

    private SampleSeeds() {}

    /** The sample order of an epoch: a seeded permutation, or 0..n-1 without shuffling. */
    public static int[] order(long seed, int epoch, int n, boolean shuffle) {
        if (!shuffle) {
            int[] o = new int[n];
            for (int i = 0; i < n; i++) o[i] = i;
            return o;
        }
        return new Rng(seed).fork(ORDER).fork(epoch).permutation(n);
    }

    /** The random stream of one view of one sample in one epoch. */
    public static Rng view(long seed, int epoch, int index, int view) {
        return new Rng(seed).fork(AUGMENT).fork(epoch).fork(index).fork(view);
    }
}
