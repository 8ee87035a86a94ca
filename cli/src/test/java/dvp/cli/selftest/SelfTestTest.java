package dvp.cli.selftest;

import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import dvp.engine.testing.ChildJvm;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelfTestTest {
    /**
     * The self-test's ResNet step comparison (ResNet-18 here for speed; ResNet-50 on the GPU) on the CPU against itself (what CI can run): its rows
     * are printed and pass, and the verdict line says so. (The primitive rows are the engine's
     * ParityChecks, exercised cpu-vs-cpu by BackendParityTest.)
     */
    @Test
    void cpuAgainstItselfPassesTheResNetStepRows() {
        StringWriter buf = new StringWriter();
        SelfTest.Options d = SelfTest.Options.defaults("cpu");
        SelfTest.Options o = new SelfTest.Options("cpu", d.seed(), false, true, 2, 32, 0, 2, 32, 0, dvp.nn.models.ResNet.Arch.RESNET18);
        boolean ok = new SelfTest(new PrintWriter(buf, true)).run(o);
        String text = buf.toString();
        assertTrue(ok, text);
        assertTrue(text.contains("resnet18 step") && text.contains("gradients") && text.contains("weights after SGD"), text);
        assertFalse(text.contains("FAIL"), text);
        assertTrue(text.contains("selftest: all checks passed"), text);
    }

    /**
     * The end-to-end parity case: a whole ResNet-50 training step (loss, every gradient,
     * weights after SGD, BN buffers) on every available device backend against the CPU, TF32 off.
     * Without a GPU it is skipped with the reason.
     */
    @org.junit.jupiter.api.TestFactory
    java.util.stream.Stream<org.junit.jupiter.api.DynamicTest> resnet50StepOnEveryDeviceBackendMatchesTheCpu() {
        return Backends.all().stream().filter(b -> !b.name().equals("cpu")).map(b ->
                org.junit.jupiter.api.DynamicTest.dynamicTest(b.name() + ": resnet50 step vs cpu", () -> {
                    var av = b.availability();
                    org.junit.jupiter.api.Assumptions.assumeTrue(av.available(),
                            () -> "no " + b.name().toUpperCase() + " device (" + av.reason() + ")");
                    StringWriter buf = new StringWriter();
                    SelfTest.Options d = SelfTest.Options.defaults(b.name());
                    // one timed step at a tiny size too: its line exists, and on the simulator says it is no speed
                    SelfTest.Options o = new SelfTest.Options(b.name(), d.seed(), false, true, 2, 64, 1, 2, 32, 0, d.arch());
                    boolean ok = new SelfTest(new PrintWriter(buf, true)).run(o);
                    String text = buf.toString();
                    assertTrue(ok, text);
                    String timing = text.lines().filter(l -> l.contains("ms/step")).findFirst().orElseThrow(() -> new AssertionError(text));
                    assertEquals(b.simulated(), timing.contains("[simulated, not a speed]"), timing);
                }));
    }

    @Test
    void anUnavailableDeviceIsAnErrorWithItsReason() throws Exception {
        // asked in a JVM without the simulator (this one has it: DVP_CUDA_SIM=1 from the build)
        Map<String, String> env = new HashMap<>();
        env.put("DVP_CUDA_SIM", null);
        env.put("DVP_CUDA_SIM_DIR", null);
        ChildJvm.Result r = ChildJvm.run(env, List.of(), SelfTestWithoutDevice.class);
        assertEquals(0, r.exit(), r.output());
        if (r.output().contains("ran")) return; // a machine with a real GPU: the self-test ran
        assertTrue(r.output().contains("BackendUnavailableException: ") && r.output().contains("cuda"), r.output());
        String message = r.output().substring(r.output().indexOf("BackendUnavailableException: "));
        assertTrue(message.length() > 60, message);
    }

    /** SelfTest.run on "cuda" in a JVM without a device: the exception it throws. */
    public static final class SelfTestWithoutDevice {
        public static void main(String[] args) {
            try {
                new SelfTest(new PrintWriter(new StringWriter())).run(SelfTest.Options.defaults("cuda"));
                System.out.println("ran");
            } catch (BackendUnavailableException e) {
                System.out.println("BackendUnavailableException: " + e.getMessage());
            }
        }
    }
}
