package dvp.cli.train;

import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Option;

/**
 * How the training and validation images are drawn ({@code @Mixin SplitOptions splits;}): the
 * Fashion-MNIST per-class draw and VIPriors' train+val set-up. Commands that only read the test
 * images (predict) do not have them.
 */
public final class SplitOptions {
    @Option(names = "--train-per-class", paramLabel = "N",
            description = "fashion-mnist: training images per class drawn from the training file. Default: 50.")
    Integer trainPerClass;

    @Option(names = "--val-per-class", paramLabel = "N",
            description = "fashion-mnist: validation images per class (disjoint from the training ones). Default: 50.")
    Integer valPerClass;

    @Option(names = "--split-seed", paramLabel = "N",
            description = "fashion-mnist: seed of the train/val draw (default: --seed). Set it to repeat a stage with another --seed on the "
                    + "same images, e.g. fine-tuning phase-1 weights that were pre-trained on the split of --seed 0.")
    Long splitSeed;

    @Option(names = "--trainval", description = "vipriors: train on train+val (the competition set-up); validate on test/labeled when present.")
    boolean trainval;

    /** d split as asked; an option of another kind of data is an error (it would be ignored). */
    DataSpec apply(DataSpec d, long seed) {
        if (!d.kind().equals("fashion-mnist") && (trainPerClass != null || valPerClass != null || splitSeed != null))
            throw new BadInputException((trainPerClass != null ? "--train-per-class" : valPerClass != null ? "--val-per-class" : "--split-seed")
                    + " applies to fashion-mnist data only, not " + d.kind() + " (whose splits are folders)");
        if (trainval && !d.kind().equals("vipriors"))
            throw new BadInputException("--trainval applies to vipriors data only, not " + d.kind());
        return d.withPerClass(trainPerClass != null ? trainPerClass : 50, valPerClass != null ? valPerClass : 50)
                .withSplitSeed(splitSeed != null ? splitSeed : seed).withTrainval(trainval);
    }
}
