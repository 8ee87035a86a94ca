package dvp.training.model;

import dvp.engine.Rng;
import dvp.nn.models.NormFactory;
import dvp.nn.models.ResNet;
import dvp.training.run.BadInputException;

import java.util.Arrays;
import java.util.List;

/**
 * Which network a phase builds: a torchvision architecture name ({@code resnet50},
 * {@code resnext101_32x8d}, {@code resnet18} ...) plus the small-network options of
 * {@link ResNet.Builder}: input channels (1 for grayscale), the small-image stem (3×3 stride-1
 * conv, no max-pool, for 28–64 px), a width multiplier and optionally fewer blocks per stage.
 * The defaults ({@link #of}) are torchvision's network. Serialised into config.json and into
 * every exported backbone, so later phases rebuild exactly the same network.
 *
 * @param blocks blocks per stage (4 values), or null for the architecture's own
 */
public record ModelSpec(String arch, int inChannels, boolean smallStem, double widthMultiplier, List<Integer> blocks) {
    public ModelSpec {
        if (arch == null || arch.isBlank()) throw new BadInputException("--arch: an architecture name is required (known: " + known() + ")");
        arch = arch.toLowerCase(java.util.Locale.ROOT);
        if (blocks != null) blocks = List.copyOf(blocks);
    }

    /** torchvision's {@code arch} as it is: 3 input channels, standard stem, width 1. */
    public static ModelSpec of(String arch) { return new ModelSpec(arch, 3, false, 1.0, null); }

    public ModelSpec withInChannels(int c) { return new ModelSpec(arch, c, smallStem, widthMultiplier, blocks); }

    public ModelSpec withSmallStem(boolean v) { return new ModelSpec(arch, inChannels, v, widthMultiplier, blocks); }

    public ModelSpec withWidth(double m) { return new ModelSpec(arch, inChannels, smallStem, m, blocks); }

    public ModelSpec withBlocks(Integer... b) { return new ModelSpec(arch, inChannels, smallStem, widthMultiplier, b == null ? null : Arrays.asList(b)); }

    /** Checks every field and returns the architecture; problems are one-line {@link BadInputException}s. */
    public ResNet.Arch validate() {
        ResNet.Arch a;
        try {
            a = ResNet.Arch.fromName(arch);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--arch: " + e.getMessage());
        }
        if (inChannels < 1) throw new BadInputException("--in-channels must be at least 1, got " + inChannels);
        if (!(widthMultiplier > 0) || widthMultiplier > 16)
            throw new BadInputException("--width must be in (0, 16], got " + widthMultiplier);
        if (blocks != null && (blocks.size() != 4 || blocks.stream().anyMatch(n -> n == null || n < 1)))
            throw new BadInputException("--blocks needs 4 positive numbers (blocks per stage), got " + blocks);
        return a;
    }

    /**
     * Builds the network with a {@code numClasses}-way fc; weights drawn from rng. A combination the
     * architecture cannot build (a width so small that a ResNeXt group has no channel) is a
     * {@link BadInputException} naming the network.
     */
    public ResNet build(int numClasses, NormFactory norm, Rng rng) {
        ResNet.Builder b = ResNet.builder(validate()).numClasses(numClasses).inChannels(inChannels)
                .smallStem(smallStem).widthMultiplier(widthMultiplier).norm(norm);
        if (blocks != null) b.layers(blocks.stream().mapToInt(Integer::intValue).toArray());
        try {
            return b.build(rng);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("cannot build " + describe() + ": " + e.getMessage(), e);
        }
    }

    public ResNet build(int numClasses, Rng rng) { return build(numClasses, NormFactory.batchNorm(), rng); }

    /** Images of {@code channels} channels must meet a network that takes as many; the error says how to make them agree. */
    public void requireImageChannels(int channels) {
        if (channels == inChannels) return;
        String fix = channels == 3 ? "image folders are read as RGB, 3 channels (as torchvision's ImageFolder does): leave --in-channels out "
                + "(it is 3 unless given) or give --in-channels 3; --in-channels 1 is for fashion-mnist's grayscale images"
                : channels == 1 ? "fashion-mnist's images are grayscale, 1 channel: give --in-channels 1"
                : "give --in-channels " + channels;
        throw new BadInputException("the images have " + channels + " channel" + (channels == 1 ? "" : "s") + " but the network, " + describe()
                + ", takes " + inChannels + ": " + fix + " (a network from --pretrained weights takes what it was trained on)");
    }

    /** A short human description, e.g. "resnet18 (1-channel input, small stem, width 0.25)". */
    public String describe() {
        StringBuilder sb = new StringBuilder(arch);
        List<String> extras = new java.util.ArrayList<>();
        if (inChannels != 3) extras.add(inChannels + "-channel input");
        if (smallStem) extras.add("small stem");
        if (widthMultiplier != 1.0) extras.add("width " + widthMultiplier);
        if (blocks != null) extras.add("blocks " + blocks);
        if (!extras.isEmpty()) sb.append(" (").append(String.join(", ", extras)).append(')');
        return sb.toString();
    }

    private static String known() {
        return Arrays.stream(ResNet.Arch.values()).map(ResNet.Arch::torchvisionName).toList().toString();
    }
}
