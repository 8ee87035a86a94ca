package dvp.training.data.decode;

import dvp.training.data.image.Image8;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes {@link Image8} as PNG or JPEG through ImageIO: for looking at augmented samples, and for
 * tests and benchmarks that make their own image files.
 */
public final class ImageWriters {
    private ImageWriters() {}

    /** A BufferedImage with the same pixels (TYPE_3BYTE_BGR or TYPE_BYTE_GRAY). */
    public static BufferedImage toBufferedImage(Image8 im) {
        BufferedImage bi = new BufferedImage(im.width, im.height, im.channels == 3 ? BufferedImage.TYPE_3BYTE_BGR : BufferedImage.TYPE_BYTE_GRAY);
        byte[] dst = ((DataBufferByte) bi.getRaster().getDataBuffer()).getData();
        if (im.channels == 1) {
            System.arraycopy(im.data, 0, dst, 0, dst.length);
        } else {
            for (int i = 0; i < dst.length; i += 3) {
                dst[i] = im.data[i + 2];
                dst[i + 1] = im.data[i + 1];
                dst[i + 2] = im.data[i];
            }
        }
        return bi;
    }

    public static void writePng(Image8 im, Path file) throws IOException {
        if (!ImageIO.write(toBufferedImage(im), "png", file.toFile())) throw new IOException("no PNG writer in ImageIO");
    }

    /** Baseline JPEG at the given quality (0..1), 4:2:0 chroma subsampling (ImageIO's default). */
    public static void writeJpeg(Image8 im, Path file, float quality) throws IOException {
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(Files.newOutputStream(file))) {
            w.setOutput(out);
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality);
            w.write(null, new IIOImage(toBufferedImage(im), null, null), p);
        } finally {
            w.dispose();
        }
    }
}
