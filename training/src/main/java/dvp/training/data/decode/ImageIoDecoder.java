package dvp.training.data.decode;

import dvp.training.data.image.Image8;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The default decoder: the JDK's ImageIO (JPEG, PNG, BMP, GIF, and whatever plugins are on the
 * class path), with torchvision's RGB conversions done on the raw samples (never through
 * {@code BufferedImage.getRGB}, which would apply a gamma to grayscale images). 16-bit samples
 * keep their top 8 bits. CMYK/YCCK JPEGs, which ImageIO cannot convert, are read as a raw raster
 * and converted like PIL. A reader warning that the data ended early counts as truncation.
 */
public final class ImageIoDecoder implements ImageDecoder {
    static {
        ImageIO.setUseCache(false); // decode from memory, never through temporary files
    }

    @Override public String name() { return "imageio"; }

    private static ImageReader reader(ImageInputStream in, String file) throws CorruptImageException {
        Iterator<ImageReader> it = ImageIO.getImageReaders(in);
        if (!it.hasNext()) throw new CorruptImageException(file, "not a recognised image format");
        ImageReader r = it.next();
        r.setInput(in, true, true);
        return r;
    }

    private static ImageInputStream stream(byte[] data, String file) throws CorruptImageException {
        if (data.length == 0) throw new CorruptImageException(file, "empty file");
        try {
            return ImageIO.createImageInputStream(new ByteArrayInputStream(data));
        } catch (IOException e) {
            throw new CorruptImageException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    @Override
    public ImageInfo probe(byte[] data, String file) throws CorruptImageException {
        try (ImageInputStream in = stream(data, file)) {
            ImageReader r = reader(in, file);
            try {
                PixelLimit.check(file, r.getWidth(0), r.getHeight(0));
                return new ImageInfo(r.getWidth(0), r.getHeight(0), r.getFormatName().toLowerCase(java.util.Locale.ROOT));
            } finally {
                r.dispose();
            }
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(file, "unreadable header: " + e, e);
        }
    }

    @Override
    public Decoded decode(byte[] data, String file, double minScale) throws CorruptImageException {
        try (ImageInputStream in = stream(data, file)) {
            ImageReader r = reader(in, file);
            List<String> warnings = new ArrayList<>();
            r.addIIOReadWarningListener((src, msg) -> warnings.add(msg));
            try {
                PixelLimit.check(file, r.getWidth(0), r.getHeight(0)); // from the header, before any pixel is allocated
                Image8 im;
                if (PilConversions.isJpeg(data) && PilConversions.jpegComponents(data) == 4) {
                    // ImageIO would colour-manage CMYK/YCCK (or refuse it); PIL converts the raw samples
                    im = fromCmykRaster(r.readRaster(0, null), PilConversions.adobeTransform(data), file);
                } else {
                    im = fromBufferedImage(r.read(0), file);
                }
                for (String w : warnings) {
                    String lw = w.toLowerCase(java.util.Locale.ROOT);
                    if (lw.contains("premature end") || lw.contains("truncated"))
                        throw new CorruptImageException(file, "truncated (" + w + ")");
                }
                return new Decoded(im, 1.0, im.width, im.height);
            } finally {
                r.dispose();
            }
        } catch (CorruptImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new CorruptImageException(file, "cannot decode: " + e, e);
        }
    }

    static Image8 fromBufferedImage(BufferedImage bi, String file) throws CorruptImageException {
        int w = bi.getWidth(), h = bi.getHeight(), n = w * h;
        byte[] out = new byte[n * 3];
        if (bi.getType() == BufferedImage.TYPE_3BYTE_BGR) {
            byte[] d = ((DataBufferByte) bi.getRaster().getDataBuffer()).getData();
            for (int i = 0; i < n * 3; i += 3) { out[i] = d[i + 2]; out[i + 1] = d[i + 1]; out[i + 2] = d[i]; }
            return new Image8(w, h, 3, out);
        }
        ColorModel cm = bi.getColorModel();
        Raster ras = bi.getRaster();
        int bands = ras.getNumBands();
        boolean component = cm instanceof ComponentColorModel;
        int csType = cm.getColorSpace().getType();
        if (component && (csType == java.awt.color.ColorSpace.TYPE_GRAY || csType == java.awt.color.ColorSpace.TYPE_RGB)) {
            int bits = cm.getComponentSize(0);
            int shift = Math.max(0, bits - 8);
            int colorBands = csType == java.awt.color.ColorSpace.TYPE_GRAY ? 1 : 3; // alpha, if any, is dropped like PIL's convert("RGB")
            if (bands < colorBands) throw new CorruptImageException(file, "image has " + bands + " bands");
            int[] row = new int[w * bands];
            for (int y = 0; y < h; y++) {
                ras.getPixels(0, y, w, 1, row);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3;
                    if (colorBands == 1) {
                        byte v = (byte) (row[x * bands] >> shift);
                        out[o] = out[o + 1] = out[o + 2] = v;
                    } else {
                        out[o] = (byte) (row[x * bands] >> shift);
                        out[o + 1] = (byte) (row[x * bands + 1] >> shift);
                        out[o + 2] = (byte) (row[x * bands + 2] >> shift);
                    }
                }
            }
            return new Image8(w, h, 3, out);
        }
        // palette, packed and other models: their sRGB values (alpha ignored)
        int[] argb = bi.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < n; i++) {
            out[3 * i] = (byte) (argb[i] >> 16);
            out[3 * i + 1] = (byte) (argb[i] >> 8);
            out[3 * i + 2] = (byte) argb[i];
        }
        return new Image8(w, h, 3, out);
    }

    /** A 4-band JPEG raster (Adobe CMYK, or YCCK when transform = 2) → RGB like PIL. */
    static Image8 fromCmykRaster(Raster ras, int adobeTransform, String file) throws CorruptImageException {
        if (ras.getNumBands() != 4) throw new CorruptImageException(file, "unsupported JPEG colour layout (" + ras.getNumBands() + " bands)");
        int w = ras.getWidth(), h = ras.getHeight(), n = w * h;
        byte[] cmyk = new byte[n * 4];
        int[] px = ras.getPixels(ras.getMinX(), ras.getMinY(), w, h, (int[]) null);
        for (int i = 0; i < n; i++) {
            if (adobeTransform == 2) { // YCC K → libjpeg's CMYK: C,M,Y = 255 − RGB(YCC)
                int[] rgb = PilConversions.yccToRgb(px[4 * i], px[4 * i + 1], px[4 * i + 2]);
                for (int k = 0; k < 3; k++) cmyk[4 * i + k] = (byte) (255 - rgb[k]);
            } else {
                for (int k = 0; k < 3; k++) cmyk[4 * i + k] = (byte) px[4 * i + k];
            }
            cmyk[4 * i + 3] = (byte) px[4 * i + 3];
        }
        byte[] rgb = new byte[n * 3];
        PilConversions.adobeCmykToRgb(cmyk, n, rgb);
        return new Image8(w, h, 3, rgb);
    }
}
