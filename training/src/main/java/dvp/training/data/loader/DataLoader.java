package dvp.training.data.loader;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.training.data.ImageDataset;
import dvp.training.data.decode.CorruptImageException;
import dvp.training.data.decode.Decoders;
import dvp.training.data.decode.ImageDecoder;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.ViewTransform;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Feeds training: worker threads read, decode and augment samples straight into a ring of
 * reusable off-heap batch buffers ({@code prefetch} batches ahead); the consumer's
 * {@link Epoch#next()} takes the oldest complete batch, copies it to the backend
 * ({@link Backend#copyFromHost}, asynchronous on a device backend) into a small ring of device
 * tensors, and hands the buffer back to the workers.
 *
 * <p>Like PyTorch's DataLoader with a sampler: a seeded permutation per epoch (or dataset order),
 * {@code drop_last}, K views per sample (two for MoCo), labels as I64. Unlike it, results are
 * bit-identical whatever the number of workers: a sample's augmentation depends only on
 * (seed, epoch, index) ({@link SampleSeeds}), and every sample has a fixed place in its batch.
 *
 * <p>Unreadable images ({@link UnreadableImages}): by default counted ({@link #failures()}) and
 * replaced by the next readable sample of the epoch order, for training; evaluation stops at the
 * first one ({@link UnreadableImageException}) or keeps its place with zero pixels and marks it
 * ({@link Batch#unreadable}).
 *
 * <p>The loader relies on {@code copyFromHost} having read its source when it returns (true for
 * the CPU backend, and for a device backend copying from pageable memory); a pinned-memory
 * asynchronous copy would have to hand the host buffer back on a copy-done event instead.
 */
public final class DataLoader implements AutoCloseable {
    private final ImageDataset dataset;
    private final SampleProcessor proc;
    private final Backend backend;
    private final int batchSize, prefetch, uploadRing;
    private final boolean shuffle, dropLast;
    private final UnreadableImages unreadable;
    private final long seed;
    private final DecodeFailures failures = new DecodeFailures();
    private final Arena arena = Arena.ofShared();
    private final Slot[] slots;
    private final Tensor[][] ringViews;
    private final Tensor[] ringLabels;
    private final Thread[] threads;
    private final Object lock = new Object();

    // guarded by lock
    private EpochRun run;
    private Throwable failure;
    private boolean closed;
    private int inFlight;
    private long batches, samples, waitNanos, stepNanos, uploadNanos, decodeNanos, augmentNanos;

    /** One host batch buffer: every view of every sample, labels, indices. */
    private static final class Slot {
        final MemorySegment[] views;
        final MemorySegment labels;
        final int[] indices;
        final boolean[] unreadable;
        int batch = -1; // the batch this buffer is being filled with
        int done;       // samples of that batch finished

        Slot(MemorySegment[] views, MemorySegment labels, int batchSize) {
            this.views = views;
            this.labels = labels;
            this.indices = new int[batchSize];
            this.unreadable = new boolean[batchSize];
        }
    }

    private static final class EpochRun {
        final int epoch;
        final int[] order;
        final int steps, positions;
        int nextPosition;     // next sample position a worker claims
        int nextBatch;        // next batch the consumer takes
        long lastHandout = -1;

        EpochRun(int epoch, int[] order, int steps, int positions) {
            this.epoch = epoch;
            this.order = order;
            this.steps = steps;
            this.positions = positions;
        }
    }

    private DataLoader(Builder b) {
        this.dataset = b.dataset;
        this.backend = b.backend != null ? b.backend : Backends.get("cpu");
        this.batchSize = b.batchSize;
        this.prefetch = b.prefetch;
        this.uploadRing = b.uploadRing;
        this.shuffle = b.shuffle;
        this.dropLast = b.dropLast;
        this.unreadable = b.unreadable;
        this.seed = b.seed;
        this.proc = new SampleProcessor(dataset, b.views, b.normalize, b.decoder != null ? b.decoder : Decoders.auto(), b.dctOversample, b.seed);
        if (dataset.size() == 0) throw new IllegalArgumentException("loader: the dataset is empty");
        if (dropLast && dataset.size() < batchSize)
            throw new IllegalArgumentException("loader: drop_last with " + dataset.size() + " samples and batch " + batchSize + " leaves no batch");
        int nv = b.views.size();
        slots = new Slot[prefetch];
        for (int s = 0; s < prefetch; s++) {
            MemorySegment[] v = new MemorySegment[nv];
            for (int k = 0; k < nv; k++) v[k] = arena.allocate(proc.viewElements(k) * batchSize * 4, 64);
            slots[s] = new Slot(v, arena.allocate(8L * batchSize, 64), batchSize);
        }
        int c = b.normalize.channels();
        ringViews = new Tensor[uploadRing][nv];
        ringLabels = new Tensor[uploadRing];
        Scope.allocatingIn(Scope.global(), () -> {
            for (int r = 0; r < uploadRing; r++) {
                for (int k = 0; k < nv; k++)
                    ringViews[r][k] = Tensor.empty(backend, DType.F32, batchSize, c, b.views.get(k).outHeight(), b.views.get(k).outWidth());
                ringLabels[r] = Tensor.empty(backend, DType.I64, batchSize);
            }
            return null;
        });
        threads = new Thread[b.workers];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = Thread.ofPlatform().daemon().name("dvp-loader-" + i).unstarted(this::workerLoop);
            threads[i].start();
        }
    }

    public static Builder builder(ImageDataset dataset, List<ViewTransform> views) { return new Builder(dataset, views); }

    public static final class Builder {
        private final ImageDataset dataset;
        private final List<ViewTransform> views;
        private Normalize normalize = Normalize.IMAGENET;
        private int batchSize = 256, workers = Math.max(1, Runtime.getRuntime().availableProcessors()), prefetch = 2, uploadRing = 2;
        private boolean shuffle = true, dropLast = true;
        private UnreadableImages unreadable = UnreadableImages.REPLACE;
        private long seed;
        private Backend backend;
        private ImageDecoder decoder;
        private double dctOversample = 2.0;

        Builder(ImageDataset dataset, List<ViewTransform> views) {
            this.dataset = dataset;
            this.views = List.copyOf(views);
        }

        public Builder normalize(Normalize n) { normalize = n; return this; }
        public Builder batchSize(int b) { if (b <= 0) throw new IllegalArgumentException("batch size " + b); batchSize = b; return this; }
        public Builder workers(int w) { if (w <= 0) throw new IllegalArgumentException("workers " + w); workers = w; return this; }
        /** Host batch buffers (batches being filled ahead of the consumer); at least 1. */
        public Builder prefetch(int p) { if (p <= 0) throw new IllegalArgumentException("prefetch " + p); prefetch = p; return this; }
        /** Device batch tensors handed out in rotation; a batch stays valid for uploadRing handouts. */
        public Builder uploadRing(int r) { if (r <= 0) throw new IllegalArgumentException("upload ring " + r); uploadRing = r; return this; }
        public Builder shuffle(boolean s) { shuffle = s; return this; }
        public Builder dropLast(boolean d) { dropLast = d; return this; }
        /** What to do with an image that cannot be read or decoded (default: replace it, for training). */
        public Builder unreadable(UnreadableImages u) { unreadable = u; return this; }
        public Builder seed(long s) { seed = s; return this; }
        public Builder backend(Backend b) { backend = b; return this; }
        public Builder decoder(ImageDecoder d) { decoder = d; return this; }
        /** DCT-scaled JPEG decoding keeps ≥ this many times the pixels views need; ≤ 0 turns it off (full decodes, like torchvision). */
        public Builder dctOversample(double o) { dctOversample = o; return this; }
        public DataLoader build() { return new DataLoader(this); }
    }

    public int batchSize() { return batchSize; }

    public int views() { return proc.views().size(); }

    public Backend backend() { return backend; }

    /** Batches per epoch: ⌊n/B⌋ with drop_last, ⌈n/B⌉ without. */
    public int stepsPerEpoch() {
        int n = dataset.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    public DecodeFailures failures() { return failures; }

    public LoaderStats stats() {
        synchronized (lock) {
            return new LoaderStats(batches, samples, waitNanos, stepNanos, uploadNanos, decodeNanos, augmentNanos, failures.count());
        }
    }

    /** Starts epoch e (workers begin filling buffers at once) and returns its batches in order. */
    public Epoch epoch(int e) {
        synchronized (lock) {
            ensureOpen();
            if (run != null) run.nextPosition = run.positions; // abandon an unfinished epoch: claim nothing more
            while (inFlight > 0) waitOn();
            int steps = stepsPerEpoch();
            int positions = dropLast ? steps * batchSize : dataset.size();
            run = new EpochRun(e, SampleSeeds.order(seed, e, dataset.size(), shuffle), steps, positions);
            for (int s = 0; s < prefetch; s++) {
                slots[s].batch = s;
                slots[s].done = 0;
            }
            lock.notifyAll();
            return new Epoch(run);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("loader is closed");
    }

    private void waitOn() {
        try {
            lock.wait();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the data loader", ie);
        }
    }

    private int batchLength(EpochRun r, int b) { return Math.min(batchSize, r.positions - b * batchSize); }

    /** The batches of one epoch, in order. */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final EpochRun r;

        private Epoch(EpochRun r) { this.r = r; }

        public int epoch() { return r.epoch; }

        public int steps() { return r.steps; }

        @Override
        public boolean hasNext() {
            synchronized (lock) {
                return run == r && r.nextBatch < r.steps;
            }
        }

        /** The next batch, waiting for the workers if it is not complete yet. */
        @Override
        public Batch next() {
            Slot slot;
            int b, len;
            long t0 = System.nanoTime();
            synchronized (lock) {
                ensureOpen();
                if (run != r) throw new IllegalStateException("epoch " + r.epoch + " was replaced by a later epoch");
                if (r.nextBatch >= r.steps) throw new NoSuchElementException("epoch " + r.epoch + " has " + r.steps + " batches");
                b = r.nextBatch;
                len = batchLength(r, b);
                slot = slots[b % prefetch];
                while (failure == null && !closed && !(slot.batch == b && slot.done == len)) waitOn();
                rethrowFailure();
                ensureOpen();
            }
            long t1 = System.nanoTime();
            int ring = (int) (batches % uploadRing);
            List<Tensor> views = new ArrayList<>();
            for (int v = 0; v < slot.views.length; v++) {
                Tensor dst = len == batchSize ? ringViews[ring][v] : ringViews[ring][v].narrow0(0, len);
                backend.copyFromHost(slot.views[v], dst);
                views.add(dst);
            }
            Tensor labels = len == batchSize ? ringLabels[ring] : ringLabels[ring].narrow0(0, len);
            backend.copyFromHost(slot.labels, labels);
            int[] indices = java.util.Arrays.copyOf(slot.indices, len);
            boolean[] unreadableHere = java.util.Arrays.copyOf(slot.unreadable, len);
            long t2 = System.nanoTime();
            synchronized (lock) {
                slot.batch = b + prefetch;
                slot.done = 0;
                r.nextBatch++;
                batches++;
                samples += len;
                waitNanos += t1 - t0;
                uploadNanos += t2 - t1;
                stepNanos += r.lastHandout < 0 ? t2 - t0 : t2 - r.lastHandout;
                r.lastHandout = t2;
                lock.notifyAll();
            }
            return new Batch(r.epoch, b, len, List.copyOf(views), labels, indices, unreadableHere);
        }

        /** Stops prefetching the rest of this epoch. */
        @Override
        public void close() {
            synchronized (lock) {
                if (run == r) r.nextPosition = r.positions;
            }
        }
    }

    private void rethrowFailure() {
        if (failure == null) return;
        if (failure instanceof CorruptImageException c) throw new UnreadableImageException(c.file(), c.getMessage(), c);
        throw new IllegalStateException("data loader worker failed: " + failure, failure);
    }

    private void workerLoop() {
        long[] timing = new long[2];
        long[] offsets = new long[proc.views().size()];
        while (true) {
            EpochRun r;
            int p;
            Slot slot;
            synchronized (lock) {
                while (true) {
                    if (closed) return;
                    if (failure == null && run != null && run.nextPosition < run.positions) {
                        int b = run.nextPosition / batchSize;
                        if (slots[b % prefetch].batch == b) break;
                    }
                    waitOn();
                }
                r = run;
                p = r.nextPosition++;
                slot = slots[(p / batchSize) % prefetch];
                inFlight++;
            }
            Throwable err = null;
            timing[0] = timing[1] = 0;
            try {
                int pos = p % batchSize;
                for (int v = 0; v < offsets.length; v++) offsets[v] = pos * proc.viewElements(v);
                fill(r, p, slot, pos, offsets, timing);
            } catch (Throwable t) {
                err = t;
            }
            synchronized (lock) {
                inFlight--;
                decodeNanos += timing[0];
                augmentNanos += timing[1];
                if (err != null && failure == null) failure = err;
                else if (err == null && run == r) slot.done++;
                lock.notifyAll();
            }
        }
    }

    /** Fills batch position pos with the sample at epoch position p, or with what the unreadable-image policy says. */
    private void fill(EpochRun r, int p, Slot slot, int pos, long[] offsets, long[] timing) throws IOException {
        int n = r.order.length;
        slot.unreadable[pos] = false;
        if (unreadable != UnreadableImages.REPLACE) {
            int idx = r.order[p];
            slot.indices[pos] = idx;
            try {
                slot.labels.setAtIndex(ValueLayout.JAVA_LONG, pos, proc.process(r.epoch, idx, slot.views, offsets, timing));
            } catch (IOException e) {
                CorruptImageException c = e instanceof CorruptImageException ce ? ce : new CorruptImageException(dataset.describe(idx), e.toString(), e);
                if (unreadable == UnreadableImages.FAIL) throw c;
                failures.record(idx, dataset.describe(idx), c.getMessage());
                for (int v = 0; v < slot.views.length; v++)
                    slot.views[v].asSlice(offsets[v] * 4, proc.viewElements(v) * 4).fill((byte) 0);
                slot.labels.setAtIndex(ValueLayout.JAVA_LONG, pos, dataset.label(idx));
                slot.unreadable[pos] = true;
            }
            return;
        }
        for (int k = 0; k < n; k++) {
            int idx = r.order[(p + k) % n];
            if (failures.isKnownBad(idx)) {
                failures.record(idx, dataset.describe(idx), dataset.describe(idx));
                continue;
            }
            try {
                int label = proc.process(r.epoch, idx, slot.views, offsets, timing);
                slot.labels.setAtIndex(ValueLayout.JAVA_LONG, pos, label);
                slot.indices[pos] = idx;
                return;
            } catch (IOException e) {
                failures.record(idx, dataset.describe(idx), e.getMessage());
            }
        }
        throw new IOException("no readable image left in the dataset (" + failures.files().size() + " unreadable files)");
    }

    /** Stops the workers and frees the host buffers and device tensors. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            lock.notifyAll();
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Tensor[] vs : ringViews) for (Tensor t : vs) t.storage().free();
        for (Tensor t : ringLabels) t.storage().free();
        arena.close();
    }
}
