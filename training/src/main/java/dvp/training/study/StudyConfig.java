package dvp.training.study;

import dvp.training.pipeline.PipelineConfig;
import dvp.training.run.BadInputException;

import java.util.Locale;

/**
 * A seeded study of Table 1: the same pipeline (all four rows) run once per seed.
 *
 * <p>What a seed changes ({@code vary}):
 * <ul>
 *   <li>{@code training} (the default): the training seed only — weight init, data order,
 *       augmentation, key shuffling — on one data split drawn with {@code splitSeed}. The spread is
 *       then the method's own run-to-run noise on a fixed dataset, as when a user re-runs it;</li>
 *   <li>{@code split}: the split too (split seed = training seed), so the spread also holds which
 *       images happened to be labelled — the question "does it help on a new small dataset".</li>
 * </ul>
 * Seeds are {@code firstSeed, firstSeed + 1, …}; every row of a seed uses the same seed, so
 * phase 2 and fine-tuning of one seed start from the same phase-1 network and are paired.
 *
 * @param regime   a short name of the configuration, shown in the report (e.g. {@code overfit})
 * @param pipeline every stage's settings; its seeds and split seed are replaced per seed
 */
public record StudyConfig(String regime, PipelineConfig pipeline, int seeds, long firstSeed, String vary, long splitSeed) {
    public StudyConfig {
        vary = vary == null ? "training" : vary.toLowerCase(Locale.ROOT);
    }

    public StudyConfig validate() {
        if (seeds < 1) throw new BadInputException("--seeds must be at least 1, got " + seeds);
        if (!vary.equals("training") && !vary.equals("split"))
            throw new BadInputException("--vary must be training (one split, training seeds vary) or split (both vary), got '" + vary + "'");
        if (!pipeline.compare()) throw new BadInputException("a study runs all four rows of Table 1 (the pipeline's compare mode)");
        return this;
    }

    public boolean variesSplit() { return vary.equals("split"); }

    /** The i-th seed (0-based). */
    public long seed(int i) { return firstSeed + i; }

    /** The split seed of a training seed. */
    public long splitSeedOf(long seed) { return variesSplit() ? seed : splitSeed; }

    /** The pipeline of one seed: every stage trains with {@code seed}, the data is drawn with its split seed. */
    public PipelineConfig forSeed(long seed) {
        return new PipelineConfig(pipeline.data().withSplitSeed(splitSeedOf(seed)), pipeline.pretrain().with(b -> b.seed = seed),
                pipeline.distill(), true, pipeline.supervised(), pipeline.linear(), pipeline.finetune(), pipeline.testTenCrop())
                .withClassifiers(c -> c.with(b -> b.seed = seed));
    }

    public StudyConfig withSeeds(int n) { return new StudyConfig(regime, pipeline, n, firstSeed, vary, splitSeed); }

    /** The same study apart from the number of seeds (what a resumed study may change). */
    public boolean sameStudyAs(StudyConfig o) {
        return o != null && withSeeds(1).equals(o.withSeeds(1));
    }
}
