package dvp.cli.selftest;

import dvp.engine.spi.BackendUnavailableException;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

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
                    SelfTest.Options o = new SelfTest.Options(b.name(), d.seed(), false, true, 2, 64, 0, 2, 64, 0, d.arch());
                    boolean ok = new SelfTest(new PrintWriter(buf, true)).run(o);
                    assertTrue(ok, buf.toString());
                }));
    }

    @Test
    void anUnavailableDeviceIsAnErrorWithItsReason() {
        assumeFalse(Backends.all().stream().anyMatch(b -> b.name().equals("cuda") && b.availability().available()), "a GPU is present");
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> new SelfTest(new PrintWriter(new StringWriter())).run(SelfTest.Options.defaults("cuda")));
        assertTrue(e.getMessage().contains("cuda") && e.getMessage().length() > 40, e.getMessage());
    }
}
