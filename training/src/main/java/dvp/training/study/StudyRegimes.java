package dvp.training.study;

import dvp.training.pipeline.Demo;
import dvp.training.pipeline.PipelineConfig;
import dvp.training.run.BadInputException;

import java.nio.file.Path;
import java.util.List;

/**
 * The named configurations a study starts from (docs/study.md says how each was chosen):
 * <ul>
 *   <li>{@code demo} — {@code dvp demo}'s pipeline (50 + 50 images per class, width-0.25 ResNet-10
 *       layout, 80 + 25 epochs), where the network under-fits;</li>
 *   <li>{@code overfit} — the default: the regime of the paper's Table 1, where supervised
 *       fine-tuning fits its training images (near 100 %) far better than validation.</li>
 * </ul>
 * Any of their sizes can be overridden ({@link Overrides}; null keeps the regime's value).
 */
public final class StudyRegimes {
    private StudyRegimes() {}

    public static final String DEFAULT = "overfit";

    public static List<String> names() { return List.of("overfit", "demo"); }

    /** Sizes that replace the regime's (null: keep it); the queue must stay a multiple of the batch. */
    public record Overrides(Path fashionMnistDir, Integer perClass, Integer valPerClass, Integer pretrainEpochs, Integer epochs,
                            Integer linearEpochs, Double width, Integer blocks, Integer batchSize, Integer queueSize, int workers) {
        public static Overrides none() { return new Overrides(null, null, null, null, null, null, null, null, null, null, 0); }
    }

    /** The regime's size before overrides, and its phase-1 queue (0: the demo's rule, about 256 keys). */
    record Base(Demo.Size size, int queueSize) {}

    static Base base(String regime) {
        return switch (regime) {
            case "demo" -> new Base(Demo.Size.standard(), 0);
            case "overfit" -> new Base(new Demo.Size(10, 50, 200, 100, 100, 0.25, 1, 32), 64);
            default -> throw new BadInputException("--regime must be one of " + names() + ", got '" + regime + "'");
        };
    }

    /** The pipeline (all four rows) of a regime with overrides applied; its seeds are set per seed by {@link StudyConfig#forSeed}. */
    public static PipelineConfig pipeline(String regime, Overrides o) {
        Base b = base(regime);
        Demo.Size s = b.size();
        Demo.Size size = new Demo.Size(or(o.perClass(), s.trainPerClass()), or(o.valPerClass(), s.valPerClass()),
                or(o.pretrainEpochs(), s.pretrainEpochs()), or(o.epochs(), s.epochs()), or(o.linearEpochs(), s.linearEpochs()),
                o.width() != null ? o.width() : s.width(), or(o.blocks(), s.blocks()), or(o.batchSize(), s.batchSize()));
        PipelineConfig cfg = Demo.config(size, o.fashionMnistDir(), 0, o.workers());
        int queue = o.queueSize() != null ? o.queueSize() : b.queueSize();
        if (queue > 0) cfg = cfg.withPretrain(p -> p.with(x -> x.queueSize = queue));
        cfg.pretrain().validate();
        return cfg;
    }

    private static int or(Integer v, int dflt) { return v != null ? v : dflt; }
}
