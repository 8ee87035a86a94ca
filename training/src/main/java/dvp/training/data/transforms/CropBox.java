package dvp.training.data.transforms;

/**
 * A crop window in source-image pixels, in torchvision's (top, left, height, width) order
 * ({@code i, j, h, w} of {@code RandomResizedCrop.get_params}).
 */
public record CropBox(int top, int left, int height, int width) {
    public CropBox {
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("crop box size must be positive: " + height + "x" + width);
    }

    public int bottom() { return top + height; }

    public int right() { return left + width; }

    public boolean inside(int imageWidth, int imageHeight) {
        return top >= 0 && left >= 0 && bottom() <= imageHeight && right() <= imageWidth;
    }
}
