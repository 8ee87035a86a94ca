package dvp.training.loop;

import dvp.engine.spi.Backend;
import dvp.training.data.ImageDataset;
import dvp.training.data.loader.DataLoader;
import dvp.training.data.loader.UnreadableImages;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.ViewTransform;
import dvp.training.run.BadInputException;

import java.util.List;

/** The loaders the phases build (training order shuffled per epoch; evaluation in dataset order). */
public final class Loaders {
    private Loaders() {}

    /** Worker threads for a {@code --workers} value (0 = one per core). */
    public static int workers(int requested) { return requested > 0 ? requested : Math.max(1, Runtime.getRuntime().availableProcessors()); }

    /**
     * A training loader: seeded per-epoch shuffling, every sample's views drawn from (seed, epoch,
     * index) streams, so a resumed run sees exactly the same batches.
     */
    public static DataLoader train(ImageDataset data, List<ViewTransform> views, Normalize normalize, int batchSize, boolean dropLast,
                                   int workers, long seed, Backend backend) {
        if (data.size() == 0) throw new BadInputException("the training set is empty");
        if (dropLast && data.size() < batchSize)
            throw new BadInputException("--batch-size " + batchSize + " is larger than the training set (" + data.size()
                    + " images); with drop_last no batch would be left");
        return DataLoader.builder(data, views).normalize(normalize).batchSize(batchSize).dropLast(dropLast).shuffle(true)
                .workers(workers(workers)).seed(seed).backend(backend).build();
    }

    /**
     * An evaluation loader: dataset order, every sample once (the last batch may be short), an
     * unreadable image stops it ({@link UnreadableImages#FAIL}) or is marked in its batch ({@code SKIP}).
     */
    public static DataLoader eval(ImageDataset data, List<ViewTransform> views, Normalize normalize, int batchSize, int workers,
                                  UnreadableImages unreadable, Backend backend) {
        if (data.size() == 0) throw new BadInputException("the evaluation set is empty");
        if (unreadable == UnreadableImages.REPLACE) throw new IllegalArgumentException("evaluation never replaces an image by another");
        return DataLoader.builder(data, views).normalize(normalize).batchSize(Math.min(batchSize, data.size())).dropLast(false).shuffle(false)
                .workers(workers(workers)).seed(0).unreadable(unreadable).backend(backend).build();
    }
}
