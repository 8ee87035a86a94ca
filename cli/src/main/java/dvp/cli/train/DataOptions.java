package dvp.cli.train;

import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Option;

/** Where the images come from ({@code @Mixin DataOptions data;}). */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "KIND:PATH", required = true,
            description = "The images: vipriors:ROOT (train/, val/, test/imgs/), folder:ROOT (ImageFolders ROOT/train, ROOT/val, ROOT/test) "
                    + "or fashion-mnist[:DIR] (IDX files; default /usr/share/datasets/fashion-mnist).")
    String data;

    @Option(names = "--train-per-class", paramLabel = "N",
            description = "fashion-mnist: training images per class drawn from the training file. Default: 50.")
    Integer trainPerClass;

    @Option(names = "--val-per-class", paramLabel = "N",
            description = "fashion-mnist: validation images per class (disjoint from the training ones). Default: 50.")
    Integer valPerClass;

    @Option(names = "--trainval", description = "vipriors: train on train+val (the competition set-up); validate on test/labeled when present.")
    boolean trainval;

    /** The data described; an option of another kind of data is an error (it would be ignored: the run would not be the one asked for). */
    DataSpec spec(long seed) {
        DataSpec d = DataSpec.parse(data);
        if (!d.kind().equals("fashion-mnist") && (trainPerClass != null || valPerClass != null))
            throw new BadInputException((trainPerClass != null ? "--train-per-class" : "--val-per-class") + " applies to fashion-mnist data only, not "
                    + d.kind() + " (whose splits are folders)");
        if (trainval && !d.kind().equals("vipriors"))
            throw new BadInputException("--trainval applies to vipriors data only, not " + d.kind());
        return d.withPerClass(trainPerClass != null ? trainPerClass : 50, valPerClass != null ? valPerClass : 50).withSplitSeed(seed)
                .withTrainval(trainval);
    }
}
