package dvp.nn.models;

import dvp.engine.MemoryFormat;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Views;
import dvp.nn.AdaptiveAvgPool2d;
import dvp.nn.BatchNorm2d;
import dvp.nn.Conv2d;
import dvp.nn.Identity;
import dvp.nn.Init;
import dvp.nn.Linear;
import dvp.nn.MaxPool2d;
import dvp.nn.Module;
import dvp.nn.ReLU;
import dvp.nn.Sequential;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * torchvision's ResNet / ResNeXt (v1.5) with torchvision's module names, so {@link #stateDict()}
 * keys and order equal {@code torchvision.models.resnetXX().state_dict()}: {@code conv1, bn1,
 * layer1..layer4 (Sequential of blocks, each with its own downsample.0/.1), fc}. {@code relu},
 * {@code maxpool} and {@code avgpool} are registered too and own no tensors.
 *
 * <p>Init as torchvision: convs Kaiming-normal (fan_out, relu), BN γ=1 β=0, {@code fc} PyTorch's
 * Linear default; optional zero-init of each block's last BN γ. Values are drawn from the given
 * {@link Rng} in construction order, so a seed fixes the network (values are not torch's, whose
 * generator differs). Tensors live in the scope open while building (see {@link Module}).
 *
 * <p>Beyond torchvision: input channels, a small-image stem (3×3 stride-1 conv, no max-pool, for
 * 28–64 px inputs; {@code maxpool} becomes Identity so keys stay the same), a width multiplier
 * (stem width round(64·m), stage planes round(64·2^i·m); for tiny test networks), a norm-layer
 * factory (split BN for MoCo), a replaceable head ({@link #replaceFc}, {@link #useMlpHead}) and
 * the pre-ReLU stage-feature forward OFD needs ({@link #forwardWithFeatures}), and a channels-last
 * mode ({@link #channelsLast(boolean)}).
 */
public final class ResNet extends Module {
    public enum BlockType { BASIC, BOTTLENECK }

    /** The torchvision architectures: block type, blocks per stage, groups, width per group. */
    public enum Arch {
        RESNET18(BlockType.BASIC, new int[]{2, 2, 2, 2}, 1, 64),
        RESNET34(BlockType.BASIC, new int[]{3, 4, 6, 3}, 1, 64),
        RESNET50(BlockType.BOTTLENECK, new int[]{3, 4, 6, 3}, 1, 64),
        RESNET101(BlockType.BOTTLENECK, new int[]{3, 4, 23, 3}, 1, 64),
        RESNET152(BlockType.BOTTLENECK, new int[]{3, 8, 36, 3}, 1, 64),
        RESNEXT50_32X4D(BlockType.BOTTLENECK, new int[]{3, 4, 6, 3}, 32, 4),
        RESNEXT101_32X8D(BlockType.BOTTLENECK, new int[]{3, 4, 23, 3}, 32, 8);

        final BlockType block;
        final int[] layers;
        final int groups, widthPerGroup;

        Arch(BlockType block, int[] layers, int groups, int widthPerGroup) {
            this.block = block;
            this.layers = layers;
            this.groups = groups;
            this.widthPerGroup = widthPerGroup;
        }

        /** torchvision's function name: "resnet18", "resnext50_32x4d", ... */
        public String torchvisionName() { return name().toLowerCase(Locale.ROOT); }

        /** Parses a torchvision name ("resnet50", "resnext101_32x8d"), case-insensitive. */
        public static Arch fromName(String name) {
            for (Arch a : values()) if (a.torchvisionName().equalsIgnoreCase(name)) return a;
            throw new IllegalArgumentException("unknown architecture '" + name + "' (known: "
                    + Arrays.stream(values()).map(Arch::torchvisionName).toList() + ")");
        }
    }

    public static Builder builder(Arch arch) { return new Builder(arch); }

    /** Options; defaults are torchvision's (1000 classes, 3 input channels, standard stem, width 1). */
    public static final class Builder {
        private BlockType block;
        private int[] layers;
        private int groups, widthPerGroup;
        private int numClasses = 1000, inChannels = 3;
        private boolean smallStem, zeroInitResidual, mlpHead;
        private double widthMultiplier = 1.0;
        private NormFactory norm = NormFactory.batchNorm();

        private Builder(Arch arch) {
            block = arch.block;
            layers = arch.layers.clone();
            groups = arch.groups;
            widthPerGroup = arch.widthPerGroup;
        }

        public Builder numClasses(int n) { numClasses = n; return this; }

        /** 1 for grayscale input. */
        public Builder inChannels(int c) { inChannels = c; return this; }

        /** 3×3 stride-1 stem conv and no max-pool (for 28–64 px images). */
        public Builder smallStem(boolean v) { smallStem = v; return this; }

        /** Scales every width (for tiny test networks); 1 is torchvision's. */
        public Builder widthMultiplier(double m) { widthMultiplier = m; return this; }

        /** Blocks per stage, overriding the architecture's (e.g. {1,1,1,1} for tests). */
        public Builder layers(int... blocks) { layers = blocks.clone(); return this; }

        /** ResNeXt cardinality (Bottleneck only). */
        public Builder groups(int g) { groups = g; return this; }

        /** ResNeXt base width per group (Bottleneck only; 64 = plain ResNet). */
        public Builder widthPerGroup(int w) { widthPerGroup = w; return this; }

        public Builder norm(NormFactory f) { norm = f; return this; }

        /** Zero the last BN's γ of every block (torchvision's zero_init_residual). */
        public Builder zeroInitResidual(boolean v) { zeroInitResidual = v; return this; }

        /** Replace fc by MoCo v2's Linear(d, d) → ReLU → fc head (see {@link ResNet#useMlpHead}). */
        public Builder mlpHead(boolean v) { mlpHead = v; return this; }

        public ResNet build(Rng rng) { return new ResNet(this, rng); }
    }

    private Module conv1, bn1, relu, maxpool, avgpool, fc;
    private final Sequential[] stages = new Sequential[4];
    private final int[] stageChannels = new int[4];
    private final int inChannels;
    /** Null: run in the input's own layout; CHANNELS_LAST: convert the input first (see channelsLast). */
    private MemoryFormat inputFormat;

    private ResNet(Builder b, Rng rng) {
        if (b.layers.length != 4) throw new IllegalArgumentException("ResNet: need 4 stages, got layers " + Arrays.toString(b.layers));
        for (int n : b.layers) if (n < 1) throw new IllegalArgumentException("ResNet: every stage needs at least one block, got " + Arrays.toString(b.layers));
        if (!(b.widthMultiplier > 0)) throw new IllegalArgumentException("ResNet: width multiplier must be positive, got " + b.widthMultiplier);
        if (b.numClasses <= 0 || b.inChannels <= 0)
            throw new IllegalArgumentException("ResNet: numClasses and inChannels must be positive, got " + b.numClasses + ", " + b.inChannels);
        if (b.block == BlockType.BASIC && (b.groups != 1 || b.widthPerGroup != 64))
            throw new IllegalArgumentException("BasicBlock only supports groups=1 and base_width=64 (got " + b.groups + ", " + b.widthPerGroup + ")");
        inChannels = b.inChannels;
        int inplanes = scaled(64, b.widthMultiplier);

        conv1 = registerModule("conv1", b.smallStem
                ? new Conv2d(b.inChannels, inplanes, 3, 1, 1, 1, false, Conv2d.WeightInit.KAIMING_NORMAL_FAN_OUT, rng)
                : new Conv2d(b.inChannels, inplanes, 7, 2, 3, 1, false, Conv2d.WeightInit.KAIMING_NORMAL_FAN_OUT, rng));
        bn1 = registerModule("bn1", b.norm.create(inplanes));
        relu = registerModule("relu", new ReLU());
        maxpool = registerModule("maxpool", b.smallStem ? new Identity() : new MaxPool2d(3, 2, 1));
        int expansion = b.block == BlockType.BASIC ? BasicBlock.EXPANSION : Bottleneck.EXPANSION;
        for (int i = 0; i < 4; i++) {
            int planes = scaled(64 << i, b.widthMultiplier);
            int stride = i == 0 ? 1 : 2;
            List<Module> blocks = new ArrayList<>();
            for (int j = 0; j < b.layers[i]; j++) {
                int s = j == 0 ? stride : 1;
                Module downsample = null;
                if (j == 0 && (stride != 1 || inplanes != planes * expansion))
                    downsample = new Sequential(ResNetLayers.conv1x1(inplanes, planes * expansion, stride, rng), b.norm.create(planes * expansion));
                blocks.add(b.block == BlockType.BASIC
                        ? new BasicBlock(inplanes, planes, s, downsample, b.norm, rng)
                        : new Bottleneck(inplanes, planes, s, downsample, b.groups, b.widthPerGroup, b.norm, rng));
                inplanes = planes * expansion;
            }
            stages[i] = registerModule("layer" + (i + 1), new Sequential(blocks));
            stageChannels[i] = inplanes;
        }
        avgpool = registerModule("avgpool", new AdaptiveAvgPool2d());
        fc = registerModule("fc", new Linear(inplanes, b.numClasses, rng));
        if (b.zeroInitResidual)
            for (Sequential stage : stages)
                for (Module block : stage.modules()) Init.constant(((ResidualBlock) block).finalBn().weight(), 0);
        if (b.mlpHead) useMlpHead(rng);
    }

    private static int scaled(int width, double m) { return Math.max(1, (int) Math.round(width * m)); }

    @Override
    public Tensor forward(Tensor x) { return run(x, null); }

    /**
     * One forward that also returns the four pre-ReLU stage outputs (ALGORITHMS §3.1); the logits
     * are computed by the same ops as {@link #forward} and are identical to it.
     */
    public StageFeatures forwardWithFeatures(Tensor x) {
        List<Tensor> stageOut = new ArrayList<>(4);
        Tensor logits = run(x, stageOut);
        return new StageFeatures(stageOut, logits);
    }

    /**
     * Runs the network channels-last (on) or in its input's own layout (off, the default): when on,
     * forward converts its input with {@code x.contiguous(CHANNELS_LAST)} (differentiable), and since
     * every op keeps its input's layout, all 4-D activations and their gradients are then
     * channels-last. Weights stay OIHW: unlike PyTorch's {@code model.to(memory_format=...)}, which
     * also restrides 4-D weights, dvp converts only the input (parameters, checkpoints and optimizer
     * state are unaffected). Not a parameter or buffer: not saved in a state dict.
     */
    public ResNet channelsLast(boolean on) {
        inputFormat = on ? MemoryFormat.CHANNELS_LAST : null;
        return this;
    }

    /** Whether {@link #channelsLast(boolean)} is on. */
    public boolean channelsLast() { return inputFormat == MemoryFormat.CHANNELS_LAST; }

    /**
     * With {@code stageOut}, each stage's last block stops before its closing ReLU (its pre-ReLU
     * output is the feature) and the ReLU runs alone: the same fused kernels compute the pre-ReLU
     * value either way, so the logits equal {@link #forward}'s bit for bit.
     */
    private Tensor run(Tensor input, List<Tensor> stageOut) {
        Tensor x = inputFormat == null ? input : input.contiguous(inputFormat);
        Tensor h = maxpool.forward(stem(conv1.forward(x)));
        for (Sequential stage : stages) {
            int n = stage.size();
            for (int j = 0; j < n - 1; j++) h = stage.get(j).forward(h);
            ResidualBlock last = (ResidualBlock) stage.get(n - 1);
            if (stageOut == null) {
                h = last.forward(h);
            } else {
                Tensor pre = last.forwardPreRelu(h);
                stageOut.add(pre);
                h = Elementwise.relu(pre);
            }
        }
        h = Views.flatten(avgpool.forward(h));
        return fc.forward(h);
    }

    /** relu(bn1(c)), fused when bn1 and relu are the standard modules (a replaced child runs as itself). */
    private Tensor stem(Tensor c) {
        if (bn1 instanceof BatchNorm2d bn && relu.getClass() == ReLU.class) return bn.forwardAddRelu(c, null, true);
        return relu.forward(bn1.forward(c));
    }

    /** Stage {@code i} (0 = layer1 ... 3 = layer4). */
    public Sequential stage(int i) { return stages[i]; }

    /**
     * The BN that feeds stage {@code i}'s last residual sum: {@code layer{i+1}.{last}.bn3}
     * (Bottleneck) or {@code .bn2} (BasicBlock); its γ, β give OFD's margin (ALGORITHMS §3.2).
     */
    public BatchNorm2d stageFinalBn(int i) {
        Sequential s = stages[i];
        return ((ResidualBlock) s.get(s.size() - 1)).finalBn();
    }

    /** Output channels of layer1..layer4 (256, 512, 1024, 2048 for ResNet-50). */
    public int[] stageChannels() { return stageChannels.clone(); }

    /** Width of the pooled feature that enters the head (2048 for ResNet-50, 512 for ResNet-18). */
    public int featureDim() { return stageChannels[3]; }

    public int inChannels() { return inChannels; }

    /** The head (a Linear unless replaced). */
    public Module fc() { return fc; }

    /** Replaces the head, keeping the key prefix {@code fc.} (torchvision's {@code model.fc = ...}). */
    public ResNet replaceFc(Module head) {
        replaceChild("fc", head);
        return this;
    }

    /**
     * MoCo v2's projection head: fc becomes Sequential(Linear(d, d), ReLU, old fc) with d =
     * {@link #featureDim()} (keys {@code fc.0.*}, {@code fc.2.*}), as moco/builder.py does.
     */
    public ResNet useMlpHead(Rng rng) {
        int d = featureDim();
        return replaceFc(new Sequential(new Linear(d, d, rng), new ReLU(), fc));
    }

    @Override
    protected void onChildReplaced(String name, Module module) {
        switch (name) {
            case "conv1" -> conv1 = module;
            case "bn1" -> bn1 = module;
            case "relu" -> relu = module;
            case "maxpool" -> maxpool = module;
            case "avgpool" -> avgpool = module;
            case "fc" -> fc = module;
            default -> {
                int i = name.charAt(name.length() - 1) - '1';
                if (!(module instanceof Sequential s) || s.size() == 0 || !s.modules().stream().allMatch(m -> m instanceof ResidualBlock))
                    throw new IllegalArgumentException("ResNet: " + name + " must be a non-empty Sequential of residual blocks");
                stages[i] = s;
                stageChannels[i] = ((ResidualBlock) s.get(s.size() - 1)).outChannels();
            }
        }
    }

    @Override
    protected String extraRepr() { return "ResNet"; }
}
