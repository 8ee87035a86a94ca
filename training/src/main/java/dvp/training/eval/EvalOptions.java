package dvp.training.eval;

import dvp.training.data.transforms.EvalView;
import dvp.training.data.transforms.ViewTransform;
import dvp.training.run.BadInputException;

import java.util.Arrays;
import java.util.List;

/**
 * How images are presented at evaluation (ALGORITHMS §4.4 and §8): shorter side resized to
 * {@code resize} (0 = int(size/0.875): 256 for 224, 512 for 448), then the centre crop of
 * {@code size}, or with {@code tenCrop} the ten crops of TenCrop(size) whose softmax outputs are
 * averaged.
 *
 * @param batchSize      images per batch (with TenCrop, each image counts ten times)
 * @param skipUnreadable leave images that cannot be read out of the score and list them
 *                       ({@link EvalResult#unreadable()}) instead of stopping at the first one
 */
public record EvalOptions(int size, int resize, boolean tenCrop, int batchSize, int workers, boolean skipUnreadable) {
    /** Stops at an unreadable image. */
    public EvalOptions(int size, int resize, boolean tenCrop, int batchSize, int workers) { this(size, resize, tenCrop, batchSize, workers, false); }

    public static EvalOptions centerCrop(int size) { return new EvalOptions(size, 0, false, 256, 0); }

    public EvalOptions withTenCrop(boolean v) { return new EvalOptions(size, resize, v, batchSize, workers, skipUnreadable); }

    public EvalOptions withResize(int r) { return new EvalOptions(size, r, tenCrop, batchSize, workers, skipUnreadable); }

    public EvalOptions withBatchSize(int b) { return new EvalOptions(size, resize, tenCrop, b, workers, skipUnreadable); }

    public EvalOptions withWorkers(int w) { return new EvalOptions(size, resize, tenCrop, batchSize, w, skipUnreadable); }

    public EvalOptions withSkipUnreadable(boolean v) { return new EvalOptions(size, resize, tenCrop, batchSize, workers, v); }

    public int effectiveResize() { return resize > 0 ? resize : (int) (size / 0.875); }

    /** Images per loader batch: the batch divided among the views. */
    public int imagesPerBatch() { return Math.max(1, batchSize / (tenCrop ? 10 : 1)); }

    public void validate() {
        if (size < 1) throw new BadInputException("--image-size must be positive, got " + size);
        if (resize != 0 && resize < size) throw new BadInputException("--eval-resize " + resize + " is smaller than --image-size " + size);
        if (batchSize < 1) throw new BadInputException("--eval-batch-size must be positive, got " + batchSize);
        if (workers < 0) throw new BadInputException("--workers must be >= 0, got " + workers);
    }

    /** The loader views: one centre crop, or the ten crops. */
    public List<ViewTransform> views() {
        validate();
        if (!tenCrop) return List.of(new EvalView(size, effectiveResize(), -1));
        EvalView[] v = new EvalView[10];
        for (int k = 0; k < 10; k++) v[k] = new EvalView(size, effectiveResize(), k);
        return Arrays.asList(v);
    }
}
