package dvp.engine.cuda;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import dvp.engine.testing.ChildJvm;
import dvp.engine.testing.CudaTesting;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kernel fault is reported with the dvp op and kernel that caused it and the simulator's (on a
 * GPU: the driver's) diagnosis. The faults: a kernel handed a pointer to device memory that was
 * freed (as a backend bug would), and a CUDA graph replayed after a tensor it reads was freed and
 * its memory returned to the driver (a user breaking the rule that a graph's tensors outlive it).
 * A fault makes the context's error sticky, as on a GPU, so each case runs in its own JVM.
 */
class CudaFaultTest {
    /** Child JVM: one fault scenario; prints the exception's class and message. */
    public static final class Probe {
        public static void main(String[] args) {
            CudaBackend cuda = (CudaBackend) Backends.get("cuda");
            int n = 4 << 20; // 16 MiB: a segment of its own, which emptyCache() returns to the driver
            try (Scope s = Scope.open("probe")) {
                Tensor y = Tensor.empty(cuda, DType.F32, n);
                switch (args[0]) {
                    case "eager" -> {
                        CudaContext ctx = CudaContext.get();
                        CachingAllocator.Block stale = ctx.allocator.allocate(4L * n, "probe");
                        ctx.allocator.free(stale);
                        cuda.emptyCache(); // cuMemFree: the address is no longer device memory
                        // a primitive whose tensor bookkeeping went wrong: relu reading the freed block
                        ctx.enter("relu");
                        ctx.launch1d("dvp_relu_f32", n, new KernelArgs().i64(n).ptr(stale.address).ptr(Addr.of(y)));
                        ctx.exit();
                        cuda.sumAll(y, Tensor.empty(cuda, DType.F32, 1)); // later work; the next download reports the fault
                        System.out.println("value " + y.narrow0(0, 1).item());
                    }
                    case "graph" -> {
                        Tensor x;
                        CudaGraph g;
                        try (Scope inputs = Scope.open("inputs")) {
                            x = Tensor.of(cuda, new float[n], n);
                            Tensor xx = x;
                            g = cuda.captureGraph(() -> cuda.relu(xx, y));
                            g.replay();
                            cuda.synchronize();
                        } // x is freed here, while the graph that reads it lives on
                        cuda.emptyCache();
                        g.replay();
                        cuda.synchronize();
                        System.out.println("replayed");
                    }
                    default -> throw new IllegalArgumentException(args[0]);
                }
                System.out.println("NO FAULT");
            } catch (RuntimeException e) {
                System.out.println("FAULT " + e.getClass().getName() + ": " + e.getMessage());
            }
        }
    }

    private static String run(String scenario, boolean syncEachOp) throws Exception {
        CudaTesting.cuda(); // the same backend must be available in the child
        Map<String, String> env = new HashMap<>();
        env.put("DVP_CUDA_SYNC", syncEachOp ? "1" : null);
        ChildJvm.Result r = ChildJvm.run(env, List.of(), Probe.class, scenario);
        assertEquals(0, r.exit(), r.output());
        String line = r.output().lines().filter(l -> l.startsWith("FAULT ") || l.startsWith("NO FAULT")).findFirst().orElse(r.output());
        assertTrue(line.startsWith("FAULT dvp.engine.cuda.CudaException: "), "expected a CudaException:\n" + r.output());
        return line;
    }

    @Test
    void withSyncEachOpAFaultNamesTheOpAndKernelThatCausedIt() throws Exception {
        String m = run("eager", true);
        assertTrue(m.contains("CUDA_ERROR_ILLEGAL_ADDRESS"), m);
        assertTrue(m.contains("(op relu, kernel dvp_relu_f32)"), "the op and kernel: " + m);
        if (CudaSimulator.loaded()) {
            assertTrue(m.contains("The CUDA simulator's last report: ") && m.contains("kernel dvp_relu_f32") && m.contains("pointer argument 1")
                    && m.contains("used after cuMemFree"), "the simulator's diagnosis: " + m);
        }
        assertTrue(m.contains("the fault comes from this op"), m);
    }

    @Test
    void withoutSyncTheFaultSurfacesAtTheNextSyncWithTheAdviceToRerunWithSync() throws Exception {
        String m = run("eager", false);
        assertTrue(m.contains("CUDA_ERROR_ILLEGAL_ADDRESS"), m);
        assertFalse(m.contains("(op relu,"), "asynchronous: reported at a later op: " + m);
        assertTrue(m.contains("DVP_CUDA_SYNC=1") && m.contains("to stop at the op that causes it"), m);
        if (CudaSimulator.loaded()) assertTrue(m.contains("kernel dvp_relu_f32") && m.contains("used after cuMemFree"), "the simulator names the kernel: " + m);
    }

    @Test
    void aGraphReplayedAfterItsInputWasFreedNamesTheGraphsOps() throws Exception {
        String m = run("graph", true);
        assertTrue(m.contains("CUDA_ERROR_ILLEGAL_ADDRESS"), m);
        assertTrue(m.contains("op graph replay of [relu]"), "the replayed graph's ops: " + m);
        if (CudaSimulator.loaded()) assertTrue(m.contains("kernel dvp_relu_f32") && m.contains("pointer argument 1") && m.contains("used after cuMemFree"), m);
    }
}
