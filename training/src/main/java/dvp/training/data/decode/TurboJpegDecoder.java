package dvp.training.data.decode;

import dvp.training.data.image.Image8;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * JPEG decoding with libjpeg-turbo (SIMD; same library and settings as PIL on Debian — accurate
 * integer DCT, fancy upsampling — so full-size decodes are bit-identical to
 * {@code PIL.Image.open(f).convert("RGB")}), through FFM. When the caller allows it, decodes with
 * DCT scaling (1/8, 2/8 … 1), which is far cheaper than decoding at full size and resizing.
 *
 * <p>Each thread keeps its own TurboJPEG handle and native buffers (handles are not thread-safe).
 * Non-JPEG input goes to the fallback decoder (ImageIO). A libjpeg warning that the data ended
 * early means a truncated file: {@link CorruptImageException}, never the grey-filled image
 * libjpeg would return. Other warnings (e.g. extraneous bytes) are tolerated, as PIL does.
 */
public final class TurboJpegDecoder implements ImageDecoder {
    private final TurboJpeg tj;
    private final ImageDecoder fallback;
    private final ThreadLocal<State> state = ThreadLocal.withInitial(State::new);

    private final class State {
        final Arena arena = Arena.ofAuto();
        MemorySegment handle;
        final MemorySegment ints = arena.allocate(ValueLayout.JAVA_INT, 4);
        MemorySegment in = arena.allocate(1 << 20, 64);
        MemorySegment out = arena.allocate(4 << 20, 64);

        State() { handle = newHandle(); }

        private MemorySegment newHandle() {
            MemorySegment h;
            try {
                h = (MemorySegment) tj.initDecompress.invokeExact();
            } catch (Throwable t) {
                throw new IllegalStateException("tjInitDecompress failed", t);
            }
            if (h.equals(MemorySegment.NULL)) throw new IllegalStateException("tjInitDecompress returned NULL");
            return h;
        }

        /** A handle that failed mid-file can report nonsense for the next file (libjpeg-turbo 2.1): replace it. */
        void resetHandle() {
            try {
                int ignored = (int) tj.destroy.invokeExact(handle);
            } catch (Throwable ignored) {
                // the old handle is abandoned either way
            }
            handle = newHandle();
        }

        MemorySegment input(byte[] data) {
            if (in.byteSize() < data.length) in = arena.allocate(Math.max(data.length, in.byteSize() * 2), 64);
            MemorySegment.copy(data, 0, in, ValueLayout.JAVA_BYTE, 0, data.length);
            return in;
        }

        MemorySegment output(long bytes) {
            if (out.byteSize() < bytes) out = arena.allocate(Math.max(bytes, out.byteSize() * 2), 64);
            return out;
        }
    }

    /** @throws IllegalStateException with the reason when libturbojpeg cannot be loaded */
    public TurboJpegDecoder(ImageDecoder fallback) {
        this.tj = TurboJpeg.load();
        if (tj == null) throw new IllegalStateException(TurboJpeg.unavailableReason());
        this.fallback = fallback;
    }

    public static boolean available() { return TurboJpeg.load() != null; }

    public static String unavailableReason() { return TurboJpeg.unavailableReason(); }

    @Override public String name() { return "turbojpeg(" + tj.library + ")"; }

    @Override public boolean supportsScaling() { return true; }

    private record Header(int width, int height, int subsamp, int colorspace) {}

    private Header header(State s, byte[] data, String file) throws CorruptImageException {
        MemorySegment in = s.input(data);
        s.ints.fill((byte) 0); // a header cut short can "succeed" without writing the size
        int rc;
        try {
            rc = (int) tj.decompressHeader3.invokeExact(s.handle, in, (long) data.length,
                    s.ints, s.ints.asSlice(4), s.ints.asSlice(8), s.ints.asSlice(12));
        } catch (Throwable t) {
            throw new CorruptImageException(file, "tjDecompressHeader3 failed: " + t, t);
        }
        if (rc != 0) {
            String msg = tj.error(s.handle);
            s.resetHandle();
            throw new CorruptImageException(file, "bad JPEG header: " + msg);
        }
        int w = s.ints.get(ValueLayout.JAVA_INT, 0), h = s.ints.get(ValueLayout.JAVA_INT, 4);
        if (w <= 0 || h <= 0) {
            s.resetHandle();
            throw new CorruptImageException(file, "bad JPEG header: image size " + w + "x" + h);
        }
        PixelLimit.check(file, w, h);
        return new Header(s.ints.get(ValueLayout.JAVA_INT, 0), s.ints.get(ValueLayout.JAVA_INT, 4),
                s.ints.get(ValueLayout.JAVA_INT, 8), s.ints.get(ValueLayout.JAVA_INT, 12));
    }

    @Override
    public ImageInfo probe(byte[] data, String file) throws CorruptImageException {
        if (data.length == 0) throw new CorruptImageException(file, "empty file");
        if (!PilConversions.isJpeg(data)) return fallback.probe(data, file);
        Header h = header(state.get(), data, file);
        return new ImageInfo(h.width(), h.height(), "jpeg");
    }

    /** The smallest supported factor num/denom ≥ minScale (1 if minScale ≥ 1). */
    int[] scaleFor(double minScale) {
        int[] best = {1, 1};
        double bestV = 1.0;
        for (int[] f : tj.scalingFactors) {
            double v = (double) f[0] / f[1];
            if (v <= 1.0 && v >= minScale && v < bestV) { best = f; bestV = v; }
        }
        return best;
    }

    @Override
    public Decoded decode(byte[] data, String file, double minScale) throws CorruptImageException {
        if (data.length == 0) throw new CorruptImageException(file, "empty file");
        if (!PilConversions.isJpeg(data)) return fallback.decode(data, file, minScale);
        State s = state.get();
        Header h = header(s, data, file);
        int[] f = scaleFor(minScale);
        int w = (h.width() * f[0] + f[1] - 1) / f[1], ht = (h.height() * f[0] + f[1] - 1) / f[1];
        boolean cmyk = h.colorspace() == TurboJpeg.TJCS_CMYK || h.colorspace() == TurboJpeg.TJCS_YCCK;
        int bpp = cmyk ? 4 : 3;
        MemorySegment out = s.output((long) w * ht * bpp);
        int rc;
        try {
            rc = (int) tj.decompress2.invokeExact(s.handle, s.in, (long) data.length, out, w, w * bpp, ht,
                    cmyk ? TurboJpeg.TJPF_CMYK : TurboJpeg.TJPF_RGB, TurboJpeg.TJFLAG_ACCURATEDCT);
        } catch (Throwable t) {
            throw new CorruptImageException(file, "tjDecompress2 failed: " + t, t);
        }
        if (rc != 0) {
            String msg = tj.error(s.handle);
            int code;
            try {
                code = (int) tj.errorCode.invokeExact(s.handle);
            } catch (Throwable t) {
                code = 1;
            }
            String lower = msg.toLowerCase(java.util.Locale.ROOT);
            if (code != TurboJpeg.TJERR_WARNING || lower.contains("premature end")) {
                s.resetHandle();
                throw new CorruptImageException(file, (code == TurboJpeg.TJERR_WARNING ? "truncated: " : "corrupt JPEG: ") + msg);
            }
        }
        byte[] px = new byte[w * ht * bpp];
        MemorySegment.copy(out, ValueLayout.JAVA_BYTE, 0, px, 0, px.length);
        Image8 im;
        if (cmyk) {
            byte[] rgb = new byte[w * ht * 3];
            PilConversions.adobeCmykToRgb(px, w * ht, rgb);
            im = new Image8(w, ht, 3, rgb);
        } else {
            im = new Image8(w, ht, 3, px);
        }
        return new Decoded(im, (double) f[0] / f[1], h.width(), h.height());
    }
}
