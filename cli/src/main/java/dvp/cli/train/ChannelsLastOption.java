package dvp.cli.train;

import dvp.engine.spi.Backend;
import picocli.CommandLine.Option;

/**
 * {@code --channels-last} / {@code --no-channels-last} of the training commands: whether the model
 * (MoCo: both encoders; distill: student and teacher) runs its activations channels-last (NHWC
 * strides, {@code ResNet.channelsLast}). Unset, it follows the device: on for CUDA (cuDNN's
 * tensor-core convolutions want NHWC), off on the CPU. It changes the activations' layout, not the
 * weights, checkpoints or exports, so it may change on --resume.
 */
public final class ChannelsLastOption {
    @Option(names = "--channels-last", negatable = true,
            description = "Run the model's activations channels-last (NHWC strides; MoCo: both encoders; distill: student and teacher), "
                    + "the layout cuDNN's tensor-core convolutions use; weights, checkpoints and exports are unchanged. Default: on "
                    + "for --device cuda, off on the CPU. The CPU accepts it with no effect on the results (its ops compute the same "
                    + "sums in either layout), only on speed.")
    Boolean channelsLast;

    /** The switch for a run on {@code b}: as given, else on for CUDA only. */
    public boolean enabled(Backend b) {
        return channelsLast != null ? channelsLast : "cuda".equals(b.name());
    }
}
