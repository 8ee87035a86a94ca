package dvp.cli.train;

import dvp.training.pipeline.DataSpec;
import picocli.CommandLine.Option;

/** Where the images come from ({@code @Mixin DataOptions data;}). */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "KIND:PATH", required = true,
            description = "The images: vipriors:ROOT (train/, val/, test/imgs/), folder:ROOT (ImageFolders ROOT/train, ROOT/val, ROOT/test) "
                    + "or fashion-mnist[:DIR] (IDX files; default /usr/share/datasets/fashion-mnist).")
    String data;

    @Option(names = "--train-per-class", paramLabel = "N", defaultValue = "50",
            description = "fashion-mnist: training images per class drawn from the training file. Default: ${DEFAULT-VALUE}.")
    int trainPerClass;

    @Option(names = "--val-per-class", paramLabel = "N", defaultValue = "50",
            description = "fashion-mnist: validation images per class (disjoint from the training ones). Default: ${DEFAULT-VALUE}.")
    int valPerClass;

    @Option(names = "--trainval", description = "vipriors: train on train+val (the competition set-up); validate on test/labeled when present.")
    boolean trainval;

    DataSpec spec(long seed) {
        return DataSpec.parse(data).withPerClass(trainPerClass, valPerClass).withSplitSeed(seed).withTrainval(trainval);
    }
}
