package dvp.nn.models;

import dvp.engine.Tensor;

import java.util.List;

/**
 * What {@link ResNet#forwardWithFeatures} returns: the four stage outputs (layer1..layer4) taken
 * <b>before</b> each stage's final ReLU — last block's final-BN output plus its shortcut — and the
 * logits, which equal {@link ResNet#forward}'s exactly. Stage i has {@code ResNet.stageChannels()[i]}
 * channels at 1/4, 1/8, 1/16, 1/32 of the input resolution (standard stem).
 */
public record StageFeatures(List<Tensor> stages, Tensor logits) {
    public StageFeatures {
        stages = List.copyOf(stages);
    }

    /** Stage {@code i} (0 = layer1 ... 3 = layer4). */
    public Tensor stage(int i) { return stages.get(i); }
}
