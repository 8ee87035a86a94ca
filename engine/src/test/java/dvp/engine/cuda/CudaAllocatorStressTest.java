package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The caching allocator through the backend under a seeded random workload: tensors of random sizes
 * (512 B to 20 MiB, so uploads and downloads cross the 16 MiB pinned staging buffers and use both)
 * are allocated, written from the host, transformed by kernels, copied on the device, checked and
 * freed in random order, while CUDA graphs that allocate and free their own temporaries are
 * captured, replayed and released in between. Every value stays what the host model says it is
 * (all values are small integers, so every kernel result is exact), and the statistics agree with
 * the live tensors at every step: allocated = baseline + the size classes of the live tensors,
 * reserved &ge; allocated, peaks &ge; current, and emptyCache() gives back exactly the cached bytes.
 */
class CudaAllocatorStressTest {
    private record Graph(CudaGraph graph, Tensor src, Tensor dst) {}

    @Test
    void randomAllocationsKernelsCopiesAndGraphsKeepEveryTensorIntact() {
        CudaBackend cuda = CudaTesting.cuda();
        Rng rng = new Rng(1234);
        Map<Tensor, float[]> live = new IdentityHashMap<>();
        List<Tensor> order = new ArrayList<>();
        List<Graph> graphs = new ArrayList<>();
        int allocs = 0, checks = 0, replays = 0, captured = 0, bigCopies = 0;
        cuda.synchronize();
        cuda.emptyCache();
        CudaBackend.MemoryStats base = cuda.memoryStats();
        try (Scope scope = Scope.open("allocator stress")) {
            for (int it = 0; it < 400; it++) {
                int action = rng.nextInt(100);
                if (action < 40 || order.size() < 4) {
                    int n = numel(rng);
                    if (n >= 4 << 20) bigCopies++;
                    float[] v = ints(rng, n);
                    Tensor t = Tensor.of(cuda, v, n);
                    live.put(t, v);
                    order.add(t);
                    allocs++;
                } else if (action < 58) {
                    Tensor t = order.remove(rng.nextInt(order.size()));
                    if (heldByGraph(graphs, t)) {
                        order.add(t);
                        continue;
                    }
                    live.remove(t);
                    t.storage().free();
                } else if (action < 70) { // a kernel writes a new tensor: out = 2*a + 1
                    Tensor a = order.get(rng.nextInt(order.size()));
                    Tensor out = Tensor.empty(cuda, DType.F32, a.shape());
                    cuda.scaleShift(a, 2f, 1f, out);
                    float[] va = live.get(a), vo = new float[va.length];
                    for (int i = 0; i < va.length; i++) vo[i] = 2 * va[i] + 1;
                    live.put(out, vo);
                    order.add(out);
                    allocs++;
                } else if (action < 78) { // a device-to-device copy into another live tensor of the same size
                    Tensor a = order.get(rng.nextInt(order.size()));
                    Tensor b = Tensor.empty(cuda, DType.F32, a.shape());
                    cuda.copy(a, b);
                    live.put(b, live.get(a).clone());
                    order.add(b);
                    allocs++;
                } else if (action < 88) { // check a random tensor (a download: a synchronisation)
                    Tensor t = order.get(rng.nextInt(order.size()));
                    assertArrayEquals(live.get(t), t.toFloatArray(), "tensor of " + t.numel() + " at iteration " + it);
                    checks++;
                } else if (action < 93 && graphs.size() < 4) { // capture: dst = (3*src - 1) + src, with a temporary
                    Tensor src = order.get(rng.nextInt(order.size()));
                    Tensor dst = Tensor.empty(cuda, DType.F32, src.shape());
                    allocs++;
                    CudaGraph g = cuda.captureGraph(() -> {
                        Tensor tmp = Tensor.empty(cuda, DType.F32, src.shape());
                        cuda.scaleShift(src, 3f, -1f, tmp);
                        cuda.axpby(1f, tmp, 1f, src, dst);
                        tmp.storage().free(); // freed inside the capture: it stays the graph's
                    });
                    captured++;
                    graphs.add(new Graph(g, src, dst));
                    live.put(dst, null); // written by the first replay
                    order.add(dst);
                } else if (action < 97 && !graphs.isEmpty()) {
                    Graph g = graphs.get(rng.nextInt(graphs.size()));
                    g.graph().replay();
                    float[] vs = live.get(g.src()), vd = new float[vs.length];
                    for (int i = 0; i < vs.length; i++) vd[i] = (3 * vs[i] - 1) + vs[i];
                    live.put(g.dst(), vd);
                    replays++;
                } else if (!graphs.isEmpty()) {
                    graphs.remove(rng.nextInt(graphs.size())).graph().close();
                }
                // a captured-but-never-replayed destination holds nothing defined yet: give it a value
                for (Graph g : graphs) if (live.get(g.dst()) == null) {
                    g.graph().replay();
                    float[] vs = live.get(g.src()), vd = new float[vs.length];
                    for (int i = 0; i < vs.length; i++) vd[i] = (3 * vs[i] - 1) + vs[i];
                    live.put(g.dst(), vd);
                    replays++;
                }
                CudaBackend.MemoryStats st = cuda.memoryStats();
                long expected = base.allocated();
                for (Tensor t : order) expected += CachingAllocator.roundSize(Math.max(1, t.numel() * 4));
                assertEquals(expected, st.allocated(), "allocated bytes vs the live tensors' size classes at iteration " + it);
                assertTrue(st.reserved() >= st.allocated() && st.peakAllocated() >= st.allocated() && st.peakReserved() >= st.reserved(),
                        "inconsistent statistics " + st);
            }
            for (Tensor t : order) assertArrayEquals(live.get(t), t.toFloatArray(), "tensor of " + t.numel() + " at the end");
            checks += order.size();
            CudaBackend.MemoryStats end = cuda.memoryStats();
            assertEquals(base.allocations() + allocs + captured /* one temporary per capture */, end.allocations(),
                    "allocation count");
            for (Graph g : graphs) g.graph().close();
            graphs.clear();
            for (Tensor t : order) t.storage().free();
        }
        cuda.synchronize();
        CudaBackend.MemoryStats after = cuda.memoryStats();
        assertEquals(base.allocated(), after.allocated(), "everything freed: back to the baseline");
        long freeBefore = cuda.deviceMemory()[0];
        cuda.emptyCache();
        CudaBackend.MemoryStats emptied = cuda.memoryStats();
        long freeAfter = cuda.deviceMemory()[0];
        assertEquals(after.reserved() - emptied.reserved(), freeAfter - freeBefore, "emptyCache returns exactly the cached bytes to the device");
        assertEquals(base.reserved(), emptied.reserved(), "no segment is left held by a released graph");
        assertTrue(allocs > 150 && checks > 40 && captured > 3 && replays > 5 && bigCopies > 0,
                "workload too thin: " + allocs + " allocations, " + checks + " checks, " + captured + " captures, " + replays
                        + " replays, " + bigCopies + " copies over 16 MiB");
    }

    private static boolean heldByGraph(List<Graph> graphs, Tensor t) {
        for (Graph g : graphs) if (g.src() == t || g.dst() == t) return true;
        return false;
    }

    /** Mostly small sizes (the small-block segments), some large ones, a few over 16 MiB (both staging buffers). */
    private static int numel(Rng rng) {
        int r = rng.nextInt(100);
        if (r < 3) return (4 << 20) + rng.nextInt(1 << 20);         // 16-20 MiB
        if (r < 20) return (1 << 18) + rng.nextInt(1 << 20);        // 1-5 MiB
        return 1 + (int) Math.exp(rng.nextFloat() * Math.log(1 << 16)); // 4 B .. 256 KiB, log-uniform
    }

    private static float[] ints(Rng rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextInt(2001) - 1000;
        return v;
    }
}
