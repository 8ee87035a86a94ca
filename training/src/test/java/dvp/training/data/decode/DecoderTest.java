package dvp.training.data.decode;

import dvp.training.data.TestImages;
import dvp.training.data.image.ColorOps;
import dvp.training.data.image.Image8;
import dvp.training.data.image.Resample;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

public class DecoderTest {
    static List<ImageDecoder> decoders() {
        return TurboJpegDecoder.available() ? List.of(new ImageIoDecoder(), new TurboJpegDecoder(new ImageIoDecoder())) : List.of(new ImageIoDecoder());
    }

    public static byte[] resource(String name) throws IOException {
        try (InputStream in = DecoderTest.class.getResourceAsStream(name)) {
            assertNotNull(in, "test resource " + name);
            return in.readAllBytes();
        }
    }

    static double meanAbs(Image8 a, Image8 b) {
        assertEquals(a.width, b.width);
        assertEquals(a.height, b.height);
        assertEquals(a.channels, b.channels);
        long s = 0;
        for (int i = 0; i < a.data.length; i++) s += Math.abs((a.data[i] & 0xFF) - (b.data[i] & 0xFF));
        return (double) s / a.data.length;
    }

    /** A valid 8-bit grayscale PNG of w×h black pixels: a few hundred KB that declare w*h bytes of pixels. */
    static byte[] blackPng(int w, int h) throws IOException {
        var out = new java.io.ByteArrayOutputStream();
        out.write(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        var ihdr = java.nio.ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        pngChunk(out, "IHDR", ihdr.array());
        var z = new java.io.ByteArrayOutputStream();
        try (var d = new java.util.zip.DeflaterOutputStream(z, new java.util.zip.Deflater(9), 1 << 16)) {
            byte[] row = new byte[w + 1]; // filter type 0, then w zero pixels
            for (int y = 0; y < h; y++) d.write(row);
        }
        pngChunk(out, "IDAT", z.toByteArray());
        pngChunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void pngChunk(java.io.ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        var crc = new java.util.zip.CRC32();
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        crc.update(t);
        crc.update(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt(data.length).array());
        out.write(t);
        out.write(data);
        out.write(java.nio.ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** A real JPEG whose frame header (SOF0) is rewritten to declare w×h: its scan data ends long before such an image would. */
    static byte[] jpegDeclaring(int w, int h) throws IOException {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        ImageIO.write(toBuffered(TestImages.natural(32, 24, 3)), "jpeg", buf);
        byte[] j = buf.toByteArray();
        for (int i = 2; i + 9 < j.length; i++) {
            if ((j[i] & 0xFF) == 0xFF && (j[i + 1] & 0xFF) == 0xC0) {
                j[i + 5] = (byte) (h >> 8);
                j[i + 6] = (byte) h;
                j[i + 7] = (byte) (w >> 8);
                j[i + 8] = (byte) w;
                return j;
            }
        }
        throw new AssertionError("no SOF0 marker");
    }

    private static BufferedImage toBuffered(Image8 im) {
        BufferedImage bi = new BufferedImage(im.width, im.height, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < im.height; y++)
            for (int x = 0; x < im.width; x++) {
                int o = (y * im.width + x) * 3;
                bi.setRGB(x, y, (im.data[o] & 0xFF) << 16 | (im.data[o + 1] & 0xFF) << 8 | (im.data[o + 2] & 0xFF));
            }
        return bi;
    }

    @Test
    void decompressionBombsAreRefusedFromTheirHeaderAtPilsLimit() throws Exception {
        byte[] png = blackPng(9500, 9500); // 90.25 M pixels, PIL's limit is 89.48 M; the file is ~100 KB
        assertTrue(png.length < 1 << 20, "a small file: " + png.length);
        byte[] jpeg = jpegDeclaring(20000, 20000);
        assertEquals(89_478_485L, PixelLimit.PIL_DEFAULT);
        for (ImageDecoder d : decoders()) {
            long t0 = System.nanoTime();
            CorruptImageException e = assertThrows(CorruptImageException.class, () -> d.decode(png, "bomb.png"), d.name());
            assertEquals("bomb.png: 9500x9500 = 90250000 pixels is over the limit of 89478485 (a decompression bomb? "
                    + "--max-image-pixels raises the limit, 0 removes it)", e.getMessage());
            assertThrows(CorruptImageException.class, () -> d.probe(png, "bomb.png"), d.name());
            CorruptImageException j = assertThrows(CorruptImageException.class, () -> d.decode(jpeg, "bomb.jpg", 0.125), d.name());
            assertTrue(j.getMessage().startsWith("bomb.jpg: 20000x20000 = 400000000 pixels is over the limit"), j.getMessage());
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L, d.name() + " refused from the header, without decoding");
        }
        byte[] small = blackPng(16, 16);
        try {
            PixelLimit.set(255);
            for (ImageDecoder d : decoders())
                assertTrue(assertThrows(CorruptImageException.class, () -> d.decode(small, "s.png")).getMessage().contains("16x16 = 256 pixels"));
            PixelLimit.set(256);
            for (ImageDecoder d : decoders()) assertEquals(16, d.decode(small, "s.png").image().width, "at the limit is fine");
            PixelLimit.set(0);
            assertEquals(16, new ImageIoDecoder().decode(small, "s.png").image().width);
        } finally {
            PixelLimit.set(PixelLimit.PIL_DEFAULT);
        }
    }

    @Test
    void turboJpegLibraryIsFoundOnThisMachine() {
        // CI installs libturbojpeg0; elsewhere this documents why the fast path is off
        Assumptions.assumeTrue(TurboJpegDecoder.available(), () -> "skipped: " + TurboJpegDecoder.unavailableReason());
        TurboJpegDecoder d = new TurboJpegDecoder(new ImageIoDecoder());
        assertTrue(d.name().contains("turbojpeg"));
        assertArrayEquals(new int[]{1, 2}, d.scaleFor(0.5));
        assertArrayEquals(new int[]{1, 8}, d.scaleFor(0.01));
        assertArrayEquals(new int[]{1, 1}, d.scaleFor(1.0));
        assertArrayEquals(new int[]{3, 8}, d.scaleFor(0.3));
    }

    @Test
    void rgbJpegDecodersAgreeAndProbeReadsTheHeader(@TempDir Path dir) throws Exception {
        Image8 src = TestImages.natural(131, 97, 11);
        Path f = dir.resolve("x.jpg");
        ImageWriters.writeJpeg(src, f, 0.92f);
        byte[] data = Files.readAllBytes(f);
        Image8 first = null;
        for (ImageDecoder d : decoders()) {
            assertEquals(new ImageInfo(131, 97, "jpeg"), d.probe(data, "x.jpg"), d.name());
            Decoded dec = d.decode(data, "x.jpg");
            assertEquals(1.0, dec.scale());
            assertEquals(131, dec.originalWidth());
            Image8 im = dec.image();
            assertEquals(3, im.channels);
            assertTrue(meanAbs(im, src) < 15, d.name() + " decodes close to the encoded pixels");
            if (first == null) first = im;
            else assertTrue(meanAbs(first, im) <= 1.0, "ImageIO and TurboJPEG agree within 1/255 on average");
        }
    }

    @Test
    void grayscaleJpegAndPngBecomeRgbWithEqualChannels(@TempDir Path dir) throws Exception {
        Image8 gray = ColorOps.grayscale(TestImages.natural(40, 30, 12), 1);
        ImageWriters.writeJpeg(gray, dir.resolve("g.jpg"), 0.95f);
        ImageWriters.writePng(gray, dir.resolve("g.png"));
        for (ImageDecoder d : decoders()) {
            Image8 png = d.decode(Files.readAllBytes(dir.resolve("g.png")), "g.png").image();
            assertEquals(ColorOps.grayscale(gray, 3), png, "lossless gray PNG → R=G=B=L exactly (" + d.name() + ")");
            Image8 jpg = d.decode(Files.readAllBytes(dir.resolve("g.jpg")), "g.jpg").image();
            for (int i = 0; i < jpg.data.length; i += 3) {
                assertEquals(jpg.data[i], jpg.data[i + 1]);
                assertEquals(jpg.data[i], jpg.data[i + 2]);
            }
            assertTrue(meanAbs(jpg, ColorOps.grayscale(gray, 3)) < 3);
        }
    }

    @Test
    void pngWithAlphaDropsAlphaAndPaletteExpands(@TempDir Path dir) throws Exception {
        BufferedImage argb = new BufferedImage(5, 4, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x80102030); // half-transparent: PIL's convert("RGB") keeps the colour, drops alpha
        argb.setRGB(4, 3, 0x00FFEEDD);
        ImageIO.write(argb, "png", dir.resolve("a.png").toFile());
        BufferedImage pal = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_INDEXED);
        pal.setRGB(1, 1, 0xFF0000FF);
        ImageIO.write(pal, "png", dir.resolve("p.png").toFile());
        for (ImageDecoder d : decoders()) {
            Image8 a = d.decode(Files.readAllBytes(dir.resolve("a.png")), "a.png").image();
            assertEquals(List.of(0x10, 0x20, 0x30), List.of(a.get(0, 0, 0), a.get(0, 0, 1), a.get(0, 0, 2)));
            assertEquals(List.of(0xFF, 0xEE, 0xDD), List.of(a.get(4, 3, 0), a.get(4, 3, 1), a.get(4, 3, 2)));
            Image8 p = d.decode(Files.readAllBytes(dir.resolve("p.png")), "p.png").image();
            assertEquals(List.of(0, 0, 255), List.of(p.get(1, 1, 0), p.get(1, 1, 1), p.get(1, 1, 2)));
        }
    }

    @Test
    void cmykJpegIsConvertedLikePil() throws Exception {
        byte[] jpg = resource("cmyk.jpg");
        Image8 expected = new ImageIoDecoder().decode(resource("cmyk-as-rgb.png"), "cmyk-as-rgb.png").image();
        for (ImageDecoder d : decoders()) {
            Image8 im = d.decode(jpg, "cmyk.jpg").image();
            double err = meanAbs(im, expected);
            if (d instanceof TurboJpegDecoder) assertEquals(0.0, err, "libjpeg-turbo + PIL's CMYK formula is bit-exact");
            else assertTrue(err <= 1.0, "ImageIO raster + PIL's CMYK formula: mean error " + err);
        }
    }

    @Test
    void ycckJpegDecodersAgree() throws Throwable {
        Assumptions.assumeTrue(TurboJpegDecoder.available(), "skipped: needs libturbojpeg to write a YCCK JPEG");
        byte[] ycck = writeYcck(64, 40);
        assertEquals(2, PilConversions.adobeTransform(ycck), "TurboJPEG writes CMYK input as YCCK");
        Image8 turbo = new TurboJpegDecoder(new ImageIoDecoder()).decode(ycck, "y.jpg").image();
        Image8 imageio = new ImageIoDecoder().decode(ycck, "y.jpg").image();
        assertTrue(meanAbs(turbo, imageio) <= 1.0, "ImageIO's YCCK path agrees with libjpeg's: " + meanAbs(turbo, imageio));
    }

    /** A YCCK JPEG from synthetic CMYK pixels, written with tjCompress2. */
    public static byte[] writeYcck(int w, int h) throws Throwable {
        TurboJpeg tj = TurboJpeg.load();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment px = a.allocate((long) w * h * 4);
            for (int i = 0; i < w * h; i++) {
                int x = i % w, y = i / w;
                px.set(ValueLayout.JAVA_BYTE, 4L * i, (byte) (x * 4));
                px.set(ValueLayout.JAVA_BYTE, 4L * i + 1, (byte) (y * 6));
                px.set(ValueLayout.JAVA_BYTE, 4L * i + 2, (byte) ((x + y) * 3));
                px.set(ValueLayout.JAVA_BYTE, 4L * i + 3, (byte) (200 + (x % 50)));
            }
            MemorySegment handle = (MemorySegment) tj.initCompress.invokeExact();
            MemorySegment bufPtr = a.allocate(ValueLayout.ADDRESS);
            MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
            int rc = (int) tj.compress2.invokeExact(handle, px, w, w * 4, h, TurboJpeg.TJPF_CMYK, bufPtr, size, TurboJpeg.TJSAMP_444, 95, 0);
            assertEquals(0, rc, () -> tj.error(handle));
            long n = size.get(ValueLayout.JAVA_LONG, 0);
            MemorySegment buf = bufPtr.get(ValueLayout.ADDRESS, 0).reinterpret(n);
            byte[] out = buf.toArray(ValueLayout.JAVA_BYTE);
            tj.free.invokeExact(buf);
            int ignored = (int) tj.destroy.invokeExact(handle);
            return out;
        }
    }

    @Test
    void corruptTruncatedAndEmptyFilesThrowNamingTheFile(@TempDir Path dir) throws Exception {
        Image8 src = TestImages.natural(120, 90, 13);
        ImageWriters.writeJpeg(src, dir.resolve("ok.jpg"), 0.9f);
        ImageWriters.writePng(src, dir.resolve("ok.png"));
        byte[] jpg = Files.readAllBytes(dir.resolve("ok.jpg")), png = Files.readAllBytes(dir.resolve("ok.png"));
        byte[] garbage = new byte[500];
        new java.util.Random(1).nextBytes(garbage);
        byte[] badJpegBody = jpg.clone();
        Arrays.fill(badJpegBody, 20, 400, (byte) 0x00); // tables destroyed
        Object[][] bad = {
                {"empty.jpg", new byte[0]},
                {"truncated.jpg", Arrays.copyOf(jpg, jpg.length / 2)},
                {"header-only.jpg", Arrays.copyOf(jpg, 30)},
                {"truncated.png", Arrays.copyOf(png, png.length / 2)},
                {"garbage.jpg", garbage},
                {"broken-tables.jpg", badJpegBody},
                {"text.png", "not an image at all".getBytes()},
        };
        for (ImageDecoder d : decoders()) {
            for (Object[] b : bad) {
                String name = (String) b[0];
                CorruptImageException e = assertThrows(CorruptImageException.class, () -> d.decode((byte[]) b[1], name), d.name() + " on " + name);
                assertEquals(name, e.file());
                assertTrue(e.getMessage().startsWith(name + ": "), e.getMessage());
            }
            assertThrows(CorruptImageException.class, () -> d.probe(new byte[0], "empty.jpg"));
        }
    }

    @Test
    void aFailedFileDoesNotSpoilTheNextDecodeOnTheSameThread(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(TurboJpegDecoder.available(), () -> "skipped: " + TurboJpegDecoder.unavailableReason());
        ImageWriters.writeJpeg(TestImages.natural(30, 20, 1), dir.resolve("a.jpg"), 0.9f);
        byte[] ok = Files.readAllBytes(dir.resolve("a.jpg"));
        TurboJpegDecoder d = new TurboJpegDecoder(new ImageIoDecoder());
        for (byte[] bad : List.of(Arrays.copyOf(ok, ok.length / 2), Arrays.copyOf(ok, 30), Arrays.copyOf(ok, 200))) {
            assertThrows(CorruptImageException.class, () -> d.decode(bad, "bad.jpg"));
            assertEquals(new ImageInfo(30, 20, "jpeg"), d.probe(ok, "a.jpg"));
            assertEquals(30, d.decode(ok, "a.jpg").image().width);
        }
    }

    @Test
    void dctScalingHalvesTheImageAndStaysCloseToAFullDecodePlusResize(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(TurboJpegDecoder.available(), () -> "skipped: " + TurboJpegDecoder.unavailableReason());
        Image8 src = TestImages.natural(401, 300, 14);
        ImageWriters.writeJpeg(src, dir.resolve("s.jpg"), 0.92f);
        byte[] data = Files.readAllBytes(dir.resolve("s.jpg"));
        TurboJpegDecoder d = new TurboJpegDecoder(new ImageIoDecoder());
        Decoded half = d.decode(data, "s.jpg", 0.5);
        assertEquals(0.5, half.scale());
        assertEquals(201, half.image().width, "TJSCALED rounds up");
        assertEquals(150, half.image().height);
        assertEquals(401, half.originalWidth());
        Image8 full = d.decode(data, "s.jpg", 1.0).image();
        double err = meanAbs(half.image(), Resample.resize(full, 201, 150));
        assertTrue(err < 6, "DCT 1/2 decode vs full decode + bilinear resize: mean error " + err);
        assertEquals(1.0, new ImageIoDecoder().decode(data, "s.jpg", 0.5).scale(), "ImageIO ignores scaling");
    }
}
