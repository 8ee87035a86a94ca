package dvp.training.data.transforms;

import dvp.training.data.image.Geometry;
import dvp.training.data.image.Image8;
import dvp.training.data.image.Resample;

/**
 * Deterministic resize/crop helpers with torchvision 0.14 semantics on PIL images: shorter-side
 * {@code Resize(size)}, {@code CenterCrop}, {@code FiveCrop}/{@code TenCrop}, and crop+resize of a
 * box given in original-image pixels on a possibly DCT-shrunk source.
 */
public final class Crops {
    private Crops() {}

    /** torchvision's _compute_resized_output_size for an int size: {width, height}. */
    public static int[] shorterSideSize(int width, int height, int size) {
        if (size <= 0) throw new IllegalArgumentException("resize: size must be positive, got " + size);
        boolean wShort = width <= height;
        int s = wShort ? width : height, l = wShort ? height : width;
        int newLong = (int) ((double) ((long) size * l) / s); // Python: int(size * long / short)
        return wShort ? new int[]{size, newLong} : new int[]{newLong, size};
    }

    /** T.Resize(size) with an int size: the shorter side becomes size (PIL bilinear). */
    public static Image8 resizeShorter(Image8 im, int size) {
        int[] wh = shorterSideSize(im.width, im.height, size);
        if (wh[0] == im.width && wh[1] == im.height) return im;
        return Resample.resize(im, wh[0], wh[1]);
    }

    /** The (top, left) torchvision's center_crop uses: round((H − h) / 2) with Python's half-even rounding. */
    public static int[] centerOrigin(int width, int height, int cropW, int cropH) {
        return new int[]{(int) Math.rint((height - cropH) / 2.0), (int) Math.rint((width - cropW) / 2.0)};
    }

    /** T.CenterCrop((h, w)); an image smaller than the crop is zero-padded first, as torchvision does. */
    public static Image8 centerCrop(Image8 im, int cropW, int cropH) {
        if (cropW > im.width || cropH > im.height) {
            int padL = cropW > im.width ? (cropW - im.width) / 2 : 0;
            int padT = cropH > im.height ? (cropH - im.height) / 2 : 0;
            int padR = cropW > im.width ? (cropW - im.width + 1) / 2 : 0;
            int padB = cropH > im.height ? (cropH - im.height + 1) / 2 : 0;
            im = Geometry.crop(im, -padL, -padT, im.width + padL + padR, im.height + padT + padB);
            if (im.width == cropW && im.height == cropH) return im;
        }
        int[] tl = centerOrigin(im.width, im.height, cropW, cropH);
        return Geometry.crop(im, tl[1], tl[0], cropW, cropH);
    }

    /** T.TenCrop(size): the four corners and the centre, then the same five of the mirrored image. */
    public static Image8[] tenCrop(Image8 im, int cropW, int cropH) {
        Image8[] out = new Image8[10];
        Image8[] a = fiveCrop(im, cropW, cropH), b = fiveCrop(Geometry.hflip(im), cropW, cropH);
        System.arraycopy(a, 0, out, 0, 5);
        System.arraycopy(b, 0, out, 5, 5);
        return out;
    }

    /** T.FiveCrop(size): top-left, top-right, bottom-left, bottom-right, centre. */
    public static Image8[] fiveCrop(Image8 im, int cropW, int cropH) {
        if (cropW > im.width || cropH > im.height)
            throw new IllegalArgumentException("five crop: crop " + cropW + "x" + cropH + " is larger than the image " + im.width + "x" + im.height);
        int w = im.width, h = im.height;
        return new Image8[]{
                Geometry.crop(im, 0, 0, cropW, cropH),
                Geometry.crop(im, w - cropW, 0, cropW, cropH),
                Geometry.crop(im, 0, h - cropH, cropW, cropH),
                Geometry.crop(im, w - cropW, h - cropH, cropW, cropH),
                centerCrop(im, cropW, cropH)};
    }

    /**
     * F.resized_crop(img, box, (outH, outW)) where box is in original-image pixels and src is the
     * original scaled by srcScale (DCT-scaled decode). At scale 1 this is exactly crop-then-resize.
     */
    public static Image8 resizedCrop(Image8 src, double srcScale, CropBox box, int outW, int outH) {
        if (srcScale == 1.0) return Resample.resizedCrop(src, box.left(), box.top(), box.width(), box.height(), outW, outH);
        double x0 = box.left() * srcScale, y0 = box.top() * srcScale;
        double x1 = Math.min(box.right() * srcScale, src.width), y1 = Math.min(box.bottom() * srcScale, src.height);
        int cx = (int) Math.floor(x0), cy = (int) Math.floor(y0);
        int cw = Math.max(1, (int) Math.ceil(x1) - cx), ch = Math.max(1, (int) Math.ceil(y1) - cy);
        cw = Math.min(cw, src.width - cx);
        ch = Math.min(ch, src.height - cy);
        float bx0 = (float) (x0 - cx), by0 = (float) (y0 - cy);
        float bx1 = Math.min((float) (x1 - cx), cw), by1 = Math.min((float) (y1 - cy), ch);
        return Resample.resize(src, cx, cy, cw, ch, bx0, by0, bx1, by1, outW, outH);
    }
}
