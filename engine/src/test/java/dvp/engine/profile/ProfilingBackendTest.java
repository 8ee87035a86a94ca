package dvp.engine.profile;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.ConvSpec;
import dvp.engine.spi.Precision;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProfilingBackendTest {
    private static final Backend CPU = Backends.cpu();

    @Test
    void tensorsCreatedThroughTheDecoratorDispatchThroughItAndViewsKeepIt() {
        ProfilingBackend pb = ProfilingBackend.wrap(CPU);
        assertSame(pb, ProfilingBackend.wrap(pb));
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.zeros(pb, 2, 3);
            assertSame(pb, t.backend());
            assertSame(CPU, t.storage().backend());
            assertSame(pb, t.view(3, 2).backend());
            assertSame(pb, t.narrow0(1, 1).backend());
            assertSame(pb, t.detach().backend());
            assertSame(pb, t.permute(1, 0).backend());
            assertEquals("cpu", pb.name());
            // tensors made directly on the CPU backend meet decorated ones in one op (same memory)
            Tensor raw = Tensor.full(CPU, 2, 2, 3);
            assertArrayEquals(new float[]{2, 2, 2, 2, 2, 2}, dvp.engine.ops.Elementwise.add(t, raw).toFloatArray());
        }
    }

    @Test
    void recordsEveryPrimitiveOfATrainingStepWithShapesFlopsAndBytes() {
        ProfilingBackend pb = ProfilingBackend.wrap(CPU);
        try (Scope s = Scope.open(); var use = Backends.use(pb)) {
            MiniNet net = new MiniNet(pb, 1);
            net.step(); // warm-up, not recorded
            try (Profiler p = pb.start(Profiler.Options.record())) {
                p.stepBegin(0);
                try (var r = p.range("whole step")) {
                    net.step();
                }
                p.stepEnd();
                List<OpEvent> ev = p.events();
                Set<String> names = ev.stream().map(OpEvent::name).collect(Collectors.toSet());
                for (String n : List.of("conv2d_forward", "conv2d_backward_filter", "batch_norm_forward", "batch_norm_backward",
                        "relu", "relu_backward", "max_pool2d_forward", "max_pool2d_backward", "global_avg_pool_forward",
                        "global_avg_pool_backward", "matmul", "add_row_vector", "sum_rows", "cross_entropy_forward",
                        "cross_entropy_backward", "sgd_update", "copy_to_host"))
                    assertTrue(names.contains(n), n + " not recorded; got " + names);
                // the input needs no gradient: no data gradient of the first conv
                assertTrue(!names.contains("conv2d_backward_data"), "conv2d_backward_data recorded for an input without grad");

                OpEvent conv = ev.stream().filter(e -> e.op() == Primitive.CONV2D_FORWARD).findFirst().orElseThrow();
                assertEquals("x[4,3,12,12] w[8,3,3,3] -> y[4,8,12,12] stride 1 pad 1", conv.signature());
                assertEquals(2L * 4 * 8 * 12 * 12 * 3 * 3 * 3, conv.flops());
                assertEquals(4L * (4 * 3 * 12 * 12 + 8 * 3 * 3 * 3 + 4 * 8 * 12 * 12), conv.bytes());
                assertEquals(conv.flops(), OpCosts.conv2d(new int[]{4, 3, 12, 12}, new int[]{8, 3, 3, 3}, new int[]{4, 8, 12, 12},
                        ConvSpec.of(1, 1, 1)));

                OpEvent mm = ev.stream().filter(e -> e.op() == Primitive.MATMUL && e.detail().equals("b^T")).findFirst().orElseThrow();
                assertEquals(2L * 4 * 3 * 8, mm.flops(), "GEMM 2MNK for [4,8] @ [3,8]^T");
                assertEquals("a[4,8] b[3,8] -> out[4,3] b^T", mm.signature());

                OpEvent ce = ev.stream().filter(e -> e.op() == Primitive.CROSS_ENTROPY_FORWARD).findFirst().orElseThrow();
                assertEquals("logits[4,3] labels:i64[4] -> loss[] probs[4,3]", ce.signature());
                assertEquals(4L * (12 + 1 + 12) + 8 * 4, ce.bytes());

                for (OpEvent e : ev) {
                    assertEquals(0, e.step(), e + " outside the step");
                    assertTrue(e.hostEndNs() >= e.hostStartNs());
                    assertEquals(e.hostNanos(), e.deviceNanos(), 0.0, "CPU: device time is host time");
                    assertTrue(e.bytes() > 0, e + " moves no bytes");
                }
                Span step = p.steps().getFirst();
                long inOps = ev.stream().mapToLong(OpEvent::hostNanos).sum();
                assertTrue(inOps <= step.hostNanos(), "ops " + inOps + " ns inside a step of " + step.hostNanos() + " ns");
                assertEquals(List.of("whole step"), p.ranges().stream().map(Span::name).toList());
                assertFalse(p.hasDeviceClock());
            }
            int before = Scope.current().ownedCount();
            net.step(); // after close: pass-through, nothing recorded, still works
            assertTrue(Scope.current().ownedCount() >= before);
            assertEquals(null, pb.profiler());
        }
    }

    @Test
    void profilingNeverChangesResults() {
        List<float[]> plain, profiled;
        float lossPlain, lossProfiled;
        try (Scope s = Scope.open()) {
            MiniNet net = new MiniNet(CPU, 7);
            lossPlain = net.step();
            lossPlain += net.step();
            plain = net.state();
        }
        ProfilingBackend pb = ProfilingBackend.wrap(CPU);
        try (Scope s = Scope.open(); var use = Backends.use(pb)) {
            MiniNet net = new MiniNet(pb, 7);
            try (Profiler p = pb.start(new Profiler.Options(true, true))) {
                p.stepBegin(0);
                lossProfiled = net.step();
                p.stepEnd();
                p.stepBegin(1);
                lossProfiled += net.step();
                p.stepEnd();
                assertTrue(p.events().size() > 20);
            }
            profiled = net.state();
        }
        assertEquals(Float.floatToRawIntBits(lossPlain), Float.floatToRawIntBits(lossProfiled));
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), profiled.get(i), "tensor " + i + " differs");
    }

    @Test
    void oneProfilerAtATimeAndStepsMustPair() {
        ProfilingBackend pb = ProfilingBackend.wrap(CPU);
        try (Profiler p = pb.start(Profiler.Options.record())) {
            assertThrows(IllegalStateException.class, () -> pb.start(Profiler.Options.record()));
            assertThrows(IllegalStateException.class, p::stepEnd);
            p.stepBegin(3);
            assertThrows(IllegalStateException.class, () -> p.stepBegin(4));
        }
        // closing ended the open step and detached the session
        try (Profiler p = pb.start(Profiler.Options.record())) {
            assertTrue(p.steps().isEmpty());
        }
    }

    @Test
    void clearDropsWarmUpButKeepsRecording() {
        ProfilingBackend pb = ProfilingBackend.wrap(CPU);
        try (Scope s = Scope.open(); Profiler p = pb.start(Profiler.Options.record())) {
            Tensor.zeros(pb, 16);
            assertEquals(1, p.events().size());
            p.clear();
            assertEquals(0, p.events().size());
            Tensor.full(pb, 1, 16);
            assertEquals(List.of("fill"), p.events().stream().map(OpEvent::name).toList());
        }
    }

    @Test
    void nvtxStatusSaysWhereItWasFoundOrWhatWasLookedFor() {
        Nvtx.Status st = Nvtx.status();
        if (st.available()) assertTrue(st.detail().contains("nvToolsExt") || st.detail().contains("nvtx"), st.detail());
        else assertTrue(st.detail().contains("libnvToolsExt.so.1") && st.detail().contains("DVP_NVTX_LIBRARY"), st.detail());
        // asking for NVTX where there is none still profiles
        ProfilingBackend pb = ProfilingBackend.wrap(CPU);
        try (Scope s = Scope.open(); Profiler p = pb.start(new Profiler.Options(false, true))) {
            p.stepBegin(0);
            Tensor.zeros(pb, 4);
            p.stepEnd();
            assertTrue(p.events().isEmpty(), "NVTX-only sessions record no events");
        }
    }

    /**
     * Every default method of {@link Backend} (what the device is and how it computes:
     * simulated, bf16 compute, compute settings, configure) is the wrapped backend's, not the
     * interface's default: a profiled simulated device must still say it is simulated (so its times
     * are labelled "not a speed" and --device auto skips it), and a profiled run must configure and
     * report the device's precision. Checked two ways: the decorator declares each default method
     * (a default added to Backend later fails here until it is forwarded), and each answer or call
     * reaches a wrapped backend whose answers differ from the defaults.
     */
    @Test
    void theBackendInterfacesDefaultMethodsAreForwardedToTheWrappedBackend() throws Exception {
        for (Method m : Backend.class.getMethods()) {
            if (!m.isDefault()) continue;
            Method own = ProfilingBackend.class.getMethod(m.getName(), m.getParameterTypes());
            assertEquals(ProfilingBackend.class, own.getDeclaringClass(), "ProfilingBackend does not forward Backend." + m.getName());
        }
        ComputeSettings bf16 = new ComputeSettings(Precision.BF16, false);
        List<ComputeSettings> configured = new ArrayList<>();
        // a wrapped backend whose every default answer is the opposite of the interface's
        Backend inner = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, (proxy, m, args) -> switch (m.getName()) {
            case "simulated", "supportsBf16Compute" -> true;
            case "computeSettings" -> bf16;
            case "configure" -> { configured.add((ComputeSettings) args[0]); yield null; }
            case "name" -> "fake";
            default -> throw new UnsupportedOperationException(m.getName());
        });
        assertTrue(!ComputeSettings.REFERENCE.equals(bf16), "the fake's settings must differ from the default's");
        ProfilingBackend pb = ProfilingBackend.wrap(inner);
        assertTrue(pb.simulated(), "simulated()");
        assertTrue(pb.supportsBf16Compute(), "supportsBf16Compute()");
        assertEquals(bf16, pb.computeSettings());
        pb.configure(ComputeSettings.REFERENCE);
        assertEquals(List.of(ComputeSettings.REFERENCE), configured, "configure(...) reached the wrapped backend");
        // and the CPU's own answers come through unchanged
        ProfilingBackend cpu = ProfilingBackend.wrap(CPU);
        assertEquals(CPU.simulated(), cpu.simulated());
        assertEquals(CPU.supportsBf16Compute(), cpu.supportsBf16Compute());
        assertEquals(CPU.computeSettings(), cpu.computeSettings());
    }

    private static void assertFalse(boolean b) { assertTrue(!b); }

}
