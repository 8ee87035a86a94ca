package dvp.training.pipeline;

import dvp.training.moco.PretrainConfig;
import dvp.training.supervised.ClassifierConfig;

import java.util.function.UnaryOperator;

/**
 * The whole method in one run (ALGORITHMS §1): phase 1 ({@code pretrain}) → phase 2
 * ({@code distill}, initialised from phase 1's backbone) → evaluation; with {@code compare} also
 * Table 1's other rows — the supervised baseline from random init, phase 1 + linear classifier,
 * phase 1 + full fine-tuning — so the table shows what each part brings. The classifier configs'
 * {@code pretrained} and {@code model} fields are filled in by the pipeline (the phase-1 backbone;
 * the phase-1 network for the baseline).
 *
 * @param testTenCrop evaluate the test set with TenCrop (10 views, softmax averaged) instead of the centre crop
 */
public record PipelineConfig(DataSpec data, PretrainConfig pretrain, ClassifierConfig distill, boolean compare,
                             ClassifierConfig supervised, ClassifierConfig linear, ClassifierConfig finetune, boolean testTenCrop) {

    /** Every phase's own recipe (ResNet-50, 224 px, 200 + 100 epochs) on the given data. */
    public static PipelineConfig defaults(DataSpec data) {
        return new PipelineConfig(data, PretrainConfig.defaults(), ClassifierConfig.distillation(), false,
                ClassifierConfig.finetune(), ClassifierConfig.linearEval(), ClassifierConfig.finetune(), false);
    }

    public PipelineConfig withCompare(boolean v) { return new PipelineConfig(data, pretrain, distill, v, supervised, linear, finetune, testTenCrop); }

    public PipelineConfig withTestTenCrop(boolean v) { return new PipelineConfig(data, pretrain, distill, compare, supervised, linear, finetune, v); }

    public PipelineConfig withPretrain(UnaryOperator<PretrainConfig> f) {
        return new PipelineConfig(data, f.apply(pretrain), distill, compare, supervised, linear, finetune, testTenCrop);
    }

    /** Applies f to every labelled phase (distill, supervised, linear, finetune). */
    public PipelineConfig withClassifiers(UnaryOperator<ClassifierConfig> f) {
        return new PipelineConfig(data, pretrain, f.apply(distill), compare, f.apply(supervised), f.apply(linear), f.apply(finetune), testTenCrop);
    }

    public PipelineConfig withDistill(UnaryOperator<ClassifierConfig> f) {
        return new PipelineConfig(data, pretrain, f.apply(distill), compare, supervised, linear, finetune, testTenCrop);
    }

    public PipelineConfig withLinear(UnaryOperator<ClassifierConfig> f) {
        return new PipelineConfig(data, pretrain, distill, compare, supervised, f.apply(linear), finetune, testTenCrop);
    }
}
