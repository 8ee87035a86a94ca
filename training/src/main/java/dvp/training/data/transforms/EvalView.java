package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.Geometry;
import dvp.training.data.image.Image8;
import dvp.training.data.image.Resample;

/**
 * The evaluation view (ALGORITHMS §4.4): Resize the shorter side to {@code resize} (by default
 * int(size / 0.875): 256 for 224, 512 for 448), then CenterCrop(size). With {@code tenCropIndex}
 * in 0..9 it is instead crop k of TenCrop(size) (corners, centre, then the same of the mirrored
 * image), so a TenCrop evaluation is ten such views.
 */
public record EvalView(int size, int resize, int tenCropIndex) implements ViewTransform {

    public EvalView {
        if (size <= 0 || resize < size) throw new IllegalArgumentException("EvalView: need 0 < size <= resize, got " + size + ", " + resize);
        if (tenCropIndex < -1 || tenCropIndex > 9) throw new IllegalArgumentException("EvalView: ten-crop index must be -1 or 0..9");
    }

    public static EvalView of(int size) { return new EvalView(size, (int) (size / 0.875), -1); }

    /** The ten views of TenCrop(size) after the shorter-side resize. */
    public static EvalView[] tenCrop(int size) {
        EvalView[] v = new EvalView[10];
        for (int k = 0; k < 10; k++) v[k] = new EvalView(size, (int) (size / 0.875), k);
        return v;
    }

    public record Params(int srcWidth, int srcHeight, int resizedWidth, int resizedHeight) implements ViewParams {
        @Override public CropBox region() { return new CropBox(0, 0, srcHeight, srcWidth); }
        @Override public int regionOutWidth() { return resizedWidth; }
        @Override public int regionOutHeight() { return resizedHeight; }
    }

    @Override public int outWidth() { return size; }

    @Override public int outHeight() { return size; }

    @Override
    public Params sample(Rng rng, int srcWidth, int srcHeight) {
        int[] wh = Crops.shorterSideSize(srcWidth, srcHeight, resize);
        return new Params(srcWidth, srcHeight, wh[0], wh[1]);
    }

    @Override
    public Image8 apply(Image8 src, double srcScale, ViewParams params) {
        Params p = (Params) params;
        Image8 resized = src.width == p.resizedWidth() && src.height == p.resizedHeight() ? src
                : Resample.resize(src, p.resizedWidth(), p.resizedHeight());
        if (tenCropIndex < 0) return Crops.centerCrop(resized, size, size);
        Image8 base = tenCropIndex < 5 ? resized : Geometry.hflip(resized);
        return Crops.fiveCrop(base, size, size)[tenCropIndex % 5];
    }
}
