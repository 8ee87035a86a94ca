package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static dvp.engine.cuda.Addr.of;

/**
 * Multi-tensor launches (kernels/src/main/cuda/sgd.cu): all tensors of a parameter group in one
 * kernel launch, through a table in device memory: per tensor {ptr0, ptr1, ptr2, numel,
 * firstChunk} (64-bit words), then one int32 per chunk of {@link #CHUNK} elements naming its
 * tensor. CPU reference: the per-tensor primitives (CpuSgd, CpuElementwise.axpby), which the
 * kernels round exactly like.
 *
 * <p>Tables depend only on the addresses and sizes, so they are built once per tensor set and
 * cached (least recently used first out, {@link #CACHE} of them): the parameters, gradients and
 * momentum buffers of a training run live for the whole run, so every step after the first finds
 * its tables. A table is uploaded through the pinned staging buffers, which a CUDA graph capture
 * forbids: a capture that meets a tensor set for the first time fails with a message saying to run
 * the step once eagerly first (the trainers' step graphs always do). A table used by a capture is
 * held by that graph ({@link CachingAllocator#usedDuringCapture}), so evicting it later cannot
 * hand its memory to other work while the graph may still replay.
 */
final class CudaMultiTensor {
    /** Elements per block: must match DVP_MT_CHUNK in sgd.cu. */
    static final long CHUNK = 4096;
    static final int WORDS = 5, CACHE = 64;

    private record Key(long[] words) {
        @Override public boolean equals(Object o) { return o instanceof Key k && Arrays.equals(words, k.words); }

        @Override public int hashCode() { return Arrays.hashCode(words); }
    }

    /** A table on the device and the launch size it describes. */
    record Table(CachingAllocator.Block block, int tensors, long chunks) {}

    private final Map<Key, Table> cache = new LinkedHashMap<>(16, 0.75f, true);

    /** The table for tensors[i] = {t0[i], t1[i], t2[i]} (t2 may be null: a null pointer column). */
    synchronized Table table(CudaContext c, String op, Tensor[] t0, Tensor[] t1, Tensor[] t2) {
        int n = t0.length;
        long[] words = new long[WORDS * n];
        long chunks = 0;
        for (int i = 0; i < n; i++) {
            long numel = t0[i].numel();
            words[WORDS * i] = of(t0[i]);
            words[WORDS * i + 1] = of(t1[i]);
            words[WORDS * i + 2] = t2 == null || t2[i] == null ? 0 : of(t2[i]);
            words[WORDS * i + 3] = numel;
            words[WORDS * i + 4] = chunks;
            chunks += (numel + CHUNK - 1) / CHUNK;
        }
        if (chunks > Integer.MAX_VALUE)
            throw new IllegalArgumentException(op + ": " + chunks + " chunks of " + CHUNK + " elements exceed one launch's grid");
        Key key = new Key(words);
        Table t = cache.get(key);
        if (t == null) {
            if (c.capturing)
                throw new IllegalStateException(op + ": a tensor set seen for the first time during a CUDA graph capture (its table "
                        + "must be uploaded, which a capture forbids); run the step once eagerly before capturing it");
            long bytes = 8L * words.length + 4L * chunks;
            CachingAllocator.Block block = c.allocator.allocate(Math.max(8, bytes), op + " table");
            try (Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(Math.max(8, bytes), 8);
                MemorySegment.copy(words, 0, host, ValueLayout.JAVA_LONG, 0, words.length);
                long at = 8L * words.length;
                for (int i = 0; i < n; i++) {
                    long from = words[WORDS * i + 4], count = (words[WORDS * i + 3] + CHUNK - 1) / CHUNK;
                    for (long k = 0; k < count; k++) host.set(ValueLayout.JAVA_INT, at + 4 * (from + k), i);
                }
                c.staging.upload(host, 0, block.address, bytes);
            } catch (RuntimeException e) {
                c.allocator.free(block);
                throw e;
            }
            t = new Table(block, n, chunks);
            cache.put(key, t);
            if (cache.size() > CACHE) {
                var eldest = cache.entrySet().iterator();
                Table old = eldest.next().getValue();
                eldest.remove();
                c.allocator.free(old.block()); // queued work that reads it runs first (one stream); live graphs keep it parked
            }
        }
        c.allocator.usedDuringCapture(t.block());
        return t;
    }

    /** Every tensor F32, contiguous, and the columns the same length with equal shapes per row. */
    static void check(String op, Tensor[] t0, Tensor[] t1, Tensor[] t2) {
        if (t0.length != t1.length || (t2 != null && t2.length != t0.length))
            throw new IllegalArgumentException(op + ": tensor lists of different lengths (" + t0.length + ", " + t1.length
                    + (t2 == null ? "" : ", " + t2.length) + ")");
        for (int i = 0; i < t0.length; i++) {
            for (Tensor t : new Tensor[]{t0[i], t1[i], t2 == null ? null : t2[i]}) {
                if (t == null) continue;
                if (t.dtype() != DType.F32) throw new IllegalArgumentException(op + ": tensor " + i + " is " + t.describe() + ", need F32");
                if (!t.isContiguous()) throw new IllegalArgumentException(op + ": tensor " + i + " " + t.describe() + " is not contiguous");
                if (t.numel() != t0[i].numel())
                    throw new IllegalArgumentException(op + ": tensor " + i + ": " + t0[i].describe() + " and " + t.describe() + " differ in size");
            }
        }
    }

    void sgd(CudaContext c, Tensor[] params, Tensor[] grads, Tensor[] bufs, Tensor lr, float momentum, float dampening, float wd,
             boolean nesterov, boolean firstStep) {
        String op = "sgdUpdateMulti";
        check(op, params, grads, momentum != 0f ? bufs : null);
        if (lr.dtype() != DType.F32 || lr.numel() != 1) throw new IllegalArgumentException(op + ": lr must be one F32 element, got " + lr.describe());
        if (momentum != 0f && (bufs == null || Arrays.asList(bufs).contains(null)))
            throw new IllegalArgumentException(op + ": momentum " + momentum + " needs a momentum buffer for every parameter");
        if (params.length == 0) return;
        Table t = table(c, op, params, grads, momentum != 0f ? bufs : null);
        if (t.chunks() == 0) return;
        c.launch("dvp_sgd_multi_f32", (int) t.chunks(), 1, 256, 0, new KernelArgs().ptr(t.block().address).i64(t.tensors())
                .ptr(of(lr)).f32(momentum).f32(1 - dampening).f32(wd).i32(nesterov ? 1 : 0).i32(firstStep ? 1 : 0));
    }

    void axpby(CudaContext c, float alpha, Tensor[] a, float beta, Tensor[] b, Tensor[] out) {
        String op = "axpbyMulti";
        check(op, a, b, out);
        if (a.length == 0) return;
        Table t = table(c, op, a, b, out);
        if (t.chunks() == 0) return;
        c.launch("dvp_axpby_multi_f32", (int) t.chunks(), 1, 256, 0, new KernelArgs().ptr(t.block().address).i64(t.tensors())
                .f32(alpha).f32(beta));
    }
}
