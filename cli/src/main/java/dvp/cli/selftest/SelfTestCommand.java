package dvp.cli.selftest;

import dvp.cli.Dvp;
import dvp.cli.ExitCodes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/**
 * {@code dvp selftest --device cuda}: checks a device backend against the CPU reference on this
 * machine and prints a table (op, output, shape, max relative error, tolerance, PASS/FAIL). See
 * {@link SelfTest}. Exit code 0 when every row passed, 1 otherwise, 3 when the device is not available.
 */
@Command(name = "selftest", mixinStandardHelpOptions = true,
        description = {"Runs every compute primitive (forward and backward) on --device and on the CPU reference with the "
                + "same random inputs and prints op, shape, max relative error and PASS/FAIL; optionally a whole ResNet-50 "
                + "training step on both, step timing and a device-memory leak check.", ""})
public final class SelfTestCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--no-primitives", description = "Skip the per-primitive table.")
    boolean noPrimitives;

    @Option(names = "--resnet50", description = "Also compare one ResNet-50 training step (loss, every gradient, weights after SGD) "
            + "with the CPU, TF32 off.")
    boolean resnet50;

    @Option(names = "--timing", paramLabel = "STEPS", defaultValue = "0",
            description = "Time this many ResNet-50 training steps with CUDA events (0: no timing). Default: ${DEFAULT-VALUE}.")
    int timing;

    @Option(names = "--leak-steps", paramLabel = "STEPS", defaultValue = "0",
            description = "Run this many more steps and check that device memory allocated by dvp stays flat. Default: ${DEFAULT-VALUE}.")
    int leakSteps;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Batch of the timing/leak steps. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--image-size", paramLabel = "PX", defaultValue = "224", description = "Image size of the timing/leak steps. Default: ${DEFAULT-VALUE}.")
    int imageSize;

    @Override
    public Integer call() {
        String device = dvp.device().name();
        if (device.equals("auto")) device = dvp.device().select(spec.commandLine().getErr()).name();
        SelfTest.Options d = SelfTest.Options.defaults(device);
        SelfTest.Options o = new SelfTest.Options(device, dvp.seed() == 0 ? d.seed() : dvp.seed(), !noPrimitives, resnet50,
                d.resnetParityBatch(), d.resnetParitySize(), timing, batch, imageSize, leakSteps, d.arch());
        boolean ok = new SelfTest(spec.commandLine().getOut()).run(o);
        return ok ? ExitCodes.OK : ExitCodes.FAILURE;
    }
}
