package dvp.engine.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Static work splitting over a fixed pool. A range is cut into contiguous chunks decided only by
 * its length and the thread count; every chunk writes disjoint output. Reductions that must be
 * bit-identical whatever the thread count use {@link #blocks} (fixed-size blocks whose partial
 * results the caller combines in block order).
 *
 * <p>Thread count: system property {@code dvp.threads}, else all available processors.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("dvp.threads", Runtime.getRuntime().availableProcessors()));
    private static final ExecutorService POOL = THREADS == 1 ? null : Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "dvp-cpu");
        t.setDaemon(true);
        return t;
    });
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);
    /** Tests only: how many pieces work is cut into on this thread (see {@link #withSplit}). */
    private static final ThreadLocal<Integer> SPLIT = new ThreadLocal<>();

    private Parallel() {}

    /** The number of threads work runs on (dvp.threads, else all processors), whatever a test's split. */
    static int poolThreads() { return THREADS; }

    /** How many pieces kernels cut their work into: the pool size, unless a test overrides it. */
    public static int threads() {
        Integer split = SPLIT.get();
        return split != null ? split : THREADS;
    }

    /**
     * Runs body with work cut into {@code pieces} (more pieces than threads queue up), so tests can
     * show that a kernel's bits do not depend on how its work is split.
     */
    public static void withSplit(int pieces, Runnable body) {
        Integer old = SPLIT.get();
        SPLIT.set(Math.max(1, pieces));
        try {
            body.run();
        } finally {
            if (old == null) SPLIT.remove(); else SPLIT.set(old);
        }
    }

    @FunctionalInterface
    public interface RangeBody {
        void run(int lo, int hi);
    }

    /** Runs body over [0, n) split into at most threads() contiguous chunks; nested calls run inline. */
    public static void range(int n, RangeBody body) { range(n, 1, body); }

    /** As {@link #range(int, RangeBody)}, but never splits below minChunk items per task. */
    public static void range(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        if (INSIDE.get()) {
            body.run(0, n);
            return;
        }
        int tasks = Math.min(threads(), Math.max(1, n / Math.max(1, minChunk)));
        if (tasks == 1) {
            body.run(0, n);
            return;
        }
        if (POOL == null) {
            // one thread but a test's withSplit: the same pieces, one after the other
            INSIDE.set(true);
            try {
                for (int t = 0; t < tasks; t++) body.run((int) ((long) n * t / tasks), (int) ((long) n * (t + 1) / tasks));
            } finally {
                INSIDE.set(false);
            }
            return;
        }
        List<Future<?>> futures = new ArrayList<>(tasks - 1);
        for (int t = 1; t < tasks; t++) {
            int lo = (int) ((long) n * t / tasks), hi = (int) ((long) n * (t + 1) / tasks);
            futures.add(POOL.submit(() -> {
                INSIDE.set(true);
                try {
                    body.run(lo, hi);
                } finally {
                    INSIDE.set(false);
                }
            }));
        }
        INSIDE.set(true);
        try {
            body.run(0, (int) ((long) n / tasks));
        } finally {
            INSIDE.set(false);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RuntimeException("interrupted in a parallel CPU kernel", e);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) throw re;
                if (c instanceof Error err) throw err;
                throw new RuntimeException(c);
            }
        }
    }

    /** Number of fixed-size blocks covering n items (the unit of deterministic reductions). */
    public static int blocks(long n, int blockSize) { return (int) ((n + blockSize - 1) / blockSize); }
}
