package dvp.cli.train;

import dvp.training.data.decode.PixelLimit;
import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Option;

/** Where the images come from ({@code @Mixin DataOptions data;}). */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "KIND:PATH",
            description = "Required. The images: vipriors:ROOT (train/, val/, test/imgs/), folder:ROOT (ImageFolders ROOT/train, ROOT/val, ROOT/test) "
                    + "or fashion-mnist[:DIR] (IDX files; default /usr/share/datasets/fashion-mnist).")
    String data;

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

    @Option(names = "--max-image-pixels", paramLabel = "N", defaultValue = "89478485",
            description = "Larger images (width x height, read from the file's header) are refused as unreadable, against decompression "
                    + "bombs; 0 = no limit. Default: ${DEFAULT-VALUE} (PIL's Image.MAX_IMAGE_PIXELS).")
    long maxImagePixels;

    /**
     * The data described; an option of another kind of data is an error (it would be ignored: the run would not be the one asked for).
     *
     * @param seed the run's --seed, which also draws the split unless --split-seed is given
     */
    DataSpec spec(long seed) {
        if (maxImagePixels < 0) throw new BadInputException("--max-image-pixels must be >= 0 (0 = no limit), got " + maxImagePixels);
        if (data == null) throw new BadInputException("missing --data KIND:PATH (the images; see --help)");
        PixelLimit.set(maxImagePixels); // process-wide, like PIL's Image.MAX_IMAGE_PIXELS: the decoders of every loader read it
        DataSpec d = DataSpec.parse(data);
        if (!d.kind().equals("fashion-mnist") && (trainPerClass != null || valPerClass != null || splitSeed != null))
            throw new BadInputException((trainPerClass != null ? "--train-per-class" : valPerClass != null ? "--val-per-class" : "--split-seed")
                    + " applies to fashion-mnist data only, not " + d.kind() + " (whose splits are folders)");
        if (trainval && !d.kind().equals("vipriors"))
            throw new BadInputException("--trainval applies to vipriors data only, not " + d.kind());
        return d.withPerClass(trainPerClass != null ? trainPerClass : 50, valPerClass != null ? valPerClass : 50)
                .withSplitSeed(splitSeed != null ? splitSeed : seed).withTrainval(trainval);
    }
}
