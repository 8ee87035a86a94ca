package dvp.cli;

import dvp.engine.spi.Backend;
import dvp.engine.spi.ComputeSettings;
import dvp.engine.spi.Precision;
import dvp.training.run.BadInputException;
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
    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16",
            description = "Arithmetic of convolutions and matrix products on the GPU: fp32 (exact fp32), tf32 "
                    + "(TF32 tensor cores: inputs rounded to a 10-bit mantissa, fp32 accumulation; PyTorch's allow_tf32), or bf16 "
                    + "(mixed precision as PyTorch's autocast: convolutions and GEMMs on bf16 inputs with fp32 accumulation; "
                    + "batch norm, losses, softmax and SGD in fp32; fp32 master weights; no loss scaling). The CPU always "
                    + "computes in fp32 (it is the reference): tf32 has no effect there and bf16 is refused. Default: bf16 on a "
                    + "CUDA device (compute capability 8.0+, which every device dvp runs on has), fp32 on the CPU; the default "
                    + "in effect is printed and recorded (versions.json 'compute'). The older -Ddvp.cuda.tf32=true / "
                    + "DVP_CUDA_TF32=1 makes tf32 the default instead.")
    Precision precision;

    @Option(names = "--deterministic", negatable = true,
            description = "Only algorithms that give bit-identical results run to run (PyTorch's use_deterministic_algorithms(True) "
                    + "with cudnn.deterministic): on the GPU, cuDNN's deterministic convolution algorithms only. On by default "
                    + "(unlike PyTorch); --no-deterministic is the fast mode: convolution algorithms autotuned per shape may then "
                    + "be atomics-based and vary run to run. The CPU is always deterministic.")
    Boolean deterministic;

    /** The settings for {@code b}: the options given, the defaults for {@code b} for the others. */
    public ComputeSettings settings(Backend b) {
        ComputeSettings now = b.computeSettings();
        return new ComputeSettings(precision != null ? precision : defaultPrecision(b), deterministic != null ? deterministic : now.deterministic());
    }

    /**
     * --precision when not given: bf16 autocast where the backend supports it (a CUDA device: dvp
     * needs compute capability 8.0+, so each has bf16 tensor cores), as the issue asks and as
     * PyTorch users train with AMP; else the backend's own (the CPU's fp32). A backend that starts in
     * another precision (tf32 by -Ddvp.cuda.tf32 / DVP_CUDA_TF32) keeps it: that alias was asked for.
     */
    public static Precision defaultPrecision(Backend b) {
        Precision own = b.computeSettings().precision();
        return own == Precision.FP32 && b.supportsBf16Compute() ? Precision.BF16 : own;
    }

    /** Applies the options given to {@code b} (says so when one has no effect on it) and returns it. */
    public Backend configure(Backend b, PrintWriter err) {
        if (precision == Precision.BF16 && !b.supportsBf16Compute())
            throw new BadInputException("--precision bf16: bf16 autocast needs a CUDA device (compute capability 8.0+); the " + b.name()
                    + " backend computes in fp32 only (it is the reference): use --precision fp32 there");
        ComputeSettings chosen = settings(b);
        b.configure(chosen);
        if (precision == null && chosen.precision() != Precision.FP32) {
            // a default other than the reference's fp32 changes the arithmetic: say so, as inherited settings are said
            err.println("dvp: --precision " + chosen.precision().cliName() + " (the default on " + b.name()
                    + (chosen.precision() == Precision.BF16 ? ", compute capability 8.0+" : ", from -Ddvp.cuda.tf32 / DVP_CUDA_TF32")
                    + "); --precision fp32 for exact fp32");
            err.flush();
        }
        if (precision != null && precision != b.computeSettings().precision()) {
            err.println("dvp: --precision " + precision.cliName() + " has no effect on " + b.name() + ": it computes in "
                    + b.computeSettings().precision().cliName());
            err.flush();
        }
        return b;
    }
}
