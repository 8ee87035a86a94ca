package dvp.cli.train;

import dvp.training.data.decode.PixelLimit;
import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Option;

/** Where the images come from ({@code @Mixin DataOptions data;}); how they are split is {@link SplitOptions}. */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "KIND:PATH",
            description = "Required. The images: vipriors:ROOT (train/, val/, test/imgs/), folder:ROOT (ImageFolders ROOT/train, ROOT/val, ROOT/test) "
                    + "or fashion-mnist[:DIR] (IDX files; default /usr/share/datasets/fashion-mnist).")
    String data;

    @Option(names = "--max-image-pixels", paramLabel = "N", defaultValue = "89478485",
            description = "Larger images (width x height, read from the file's header) are refused as unreadable, against decompression "
                    + "bombs; 0 = no limit. Default: ${DEFAULT-VALUE} (PIL's Image.MAX_IMAGE_PIXELS).")
    long maxImagePixels;

    /**
     * The data described; an option of another kind of data is an error (it would be ignored: the run would not be the one asked for).
     *
     * @param seed   the run's --seed, which also draws the split unless --split-seed is given
     * @param splits the split options of the command, or null for a command that has none (the defaults)
     */
    DataSpec spec(long seed, SplitOptions splits) {
        if (maxImagePixels < 0) throw new BadInputException("--max-image-pixels must be >= 0 (0 = no limit), got " + maxImagePixels);
        if (data == null) throw new BadInputException("missing --data KIND:PATH (the images; see --help)");
        PixelLimit.set(maxImagePixels); // process-wide, like PIL's Image.MAX_IMAGE_PIXELS: the decoders of every loader read it
        DataSpec d = DataSpec.parse(data);
        return (splits != null ? splits : new SplitOptions()).apply(d, seed);
    }
}
