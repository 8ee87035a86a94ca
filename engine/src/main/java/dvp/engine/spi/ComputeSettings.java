package dvp.engine.spi;

/**
 * How a run asks its backend to compute (the {@code --precision} and {@code --deterministic}
 * options), as {@link Backend#configure} takes it and {@link Backend#computeSettings} reports what
 * is in effect, for the run's records.
 *
 * @param precision     the arithmetic of fp32 matrix products and convolutions
 * @param deterministic only algorithms whose results are bit-identical run to run (PyTorch's
 *                      {@code use_deterministic_algorithms(True)} with {@code cudnn.deterministic});
 *                      a backend that cannot honour it for some op refuses that op by name
 */
public record ComputeSettings(Precision precision, boolean deterministic) {
    /** The CPU reference: fp32, deterministic by construction (fixed splits, fixed reduction order). */
    public static final ComputeSettings REFERENCE = new ComputeSettings(Precision.FP32, true);

    public ComputeSettings {
        if (precision == null) throw new IllegalArgumentException("precision must be given");
    }

    /** "precision fp32, deterministic on": the form run records and bench settings show. */
    public String describe() { return "precision " + precision.cliName() + ", deterministic " + (deterministic ? "on" : "off"); }
}
