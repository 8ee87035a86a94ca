package dvp.cli.train;

import dvp.training.model.ModelSpec;
import picocli.CommandLine.Option;

import java.util.List;

/** The network options ({@code @Mixin ModelOptions model;}): a torchvision architecture and the small-network knobs. */
public final class ModelOptions {
    @Option(names = "--arch", paramLabel = "NAME",
            description = "torchvision architecture: resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, resnext101_32x8d. "
                    + "Default: resnet50.")
    String arch;

    @Option(names = "--in-channels", paramLabel = "N", description = "Input channels: 3 (RGB) or 1 (grayscale). Default: 3.")
    Integer inChannels;

    @Option(names = "--small-stem", description = "3x3 stride-1 stem conv without max-pool, for 28-64 px images.")
    Boolean smallStem;

    @Option(names = "--width", paramLabel = "M", description = "Width multiplier of every layer (1 = torchvision's). Default: 1.")
    Double width;

    @Option(names = "--blocks", paramLabel = "N,N,N,N", split = ",", description = "Residual blocks per stage instead of the architecture's.")
    List<Integer> blocks;

    /** Whether any network option was given. */
    boolean given() { return arch != null || inChannels != null || smallStem != null || width != null || blocks != null; }

    /** The network described, starting from defaultArch; null when nothing was given and defaultArch is null. */
    ModelSpec spec(String defaultArch) {
        if (!given() && defaultArch == null) return null;
        return spec(arch != null ? arch : defaultArch != null ? defaultArch : "resnet50", inChannels, smallStem, width, blocks);
    }

    /** torchvision's arch with the options that were given (null: the architecture's own). */
    static ModelSpec spec(String arch, Integer inChannels, Boolean smallStem, Double width, List<Integer> blocks) {
        ModelSpec s = ModelSpec.of(arch);
        if (inChannels != null) s = s.withInChannels(inChannels);
        if (smallStem != null) s = s.withSmallStem(smallStem);
        if (width != null) s = s.withWidth(width);
        if (blocks != null) s = new ModelSpec(s.arch(), s.inChannels(), s.smallStem(), s.widthMultiplier(), blocks);
        s.validate();
        return s;
    }
}
