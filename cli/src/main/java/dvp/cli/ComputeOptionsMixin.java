package dvp.cli;

import dvp.engine.spi.Backend;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.Precision;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/**
 * {@code --precision} and {@code --deterministic}: how the device computes, for the training
 * commands (through {@link SessionOptionsMixin}) and {@code dvp bench}. Applied to the backend
 * before its first op ({@link #configure}); what is in effect is recorded by the backend's
 * {@link Backend#computeSettings()} (versions.json, checkpoints, bench results). Neither changes
 * what a run trains, only the rounding of its arithmetic, so {@code --resume} may change both
 * ({@link ResumeArgs#MAY_CHANGE}), as it may change {@code --device}.
 */
public final class ComputeOptionsMixin {
    @Option(names = "--precision", paramLabel = "fp32|tf32",
            description = "Arithmetic of fp32 convolutions and matrix products on the GPU: fp32 (exact fp32; the default), or tf32 "
                    + "(TF32 tensor cores: inputs rounded to a 10-bit mantissa, fp32 accumulation; PyTorch's allow_tf32). The CPU "
                    + "always computes in fp32 (it is the reference). The older -Ddvp.cuda.tf32=true / DVP_CUDA_TF32=1 still sets "
                    + "the default.")
    Precision precision;

    @Option(names = "--deterministic", negatable = true,
            description = "Only algorithms that give bit-identical results run to run (PyTorch's use_deterministic_algorithms(True) "
                    + "with cudnn.deterministic): on the GPU, cuDNN's deterministic convolution algorithms only. On by default "
                    + "(unlike PyTorch); --no-deterministic is the fast mode: convolution algorithms autotuned per shape may then "
                    + "be atomics-based and vary run to run. The CPU is always deterministic.")
    Boolean deterministic;

    /** The settings for {@code b}: the options given, the backend's own defaults for the others. */
    public ComputeSettings settings(Backend b) {
        ComputeSettings now = b.computeSettings();
        return new ComputeSettings(precision != null ? precision : now.precision(), deterministic != null ? deterministic : now.deterministic());
    }

    /** Applies the options given to {@code b} (says so when one has no effect on it) and returns it. */
    public Backend configure(Backend b, PrintWriter err) {
        b.configure(settings(b));
        if (precision != null && precision != b.computeSettings().precision()) {
            err.println("dvp: --precision " + precision.cliName() + " has no effect on " + b.name() + ": it computes in "
                    + b.computeSettings().precision().cliName());
            err.flush();
        }
        return b;
    }
}
