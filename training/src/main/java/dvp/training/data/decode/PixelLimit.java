package dvp.training.data.decode;

/**
 * The largest image (width × height) a decoder will decode, checked on the header before any pixel
 * memory is allocated: a small file can declare a huge image (a "decompression bomb": a 1 MB PNG of
 * 20000×20000 would take 1.6 GB to decode). The default is PIL's {@code Image.MAX_IMAGE_PIXELS}
 * (89,478,485 pixels, a 128 MiB image of 3-byte pixels); like that setting it is process-wide and
 * can be changed or switched off (0), which {@code --max-image-pixels} does.
 */
public final class PixelLimit {
    /** PIL's default: {@code int(1024 * 1024 * 1024 // 4 // 3)}. */
    public static final long PIL_DEFAULT = 1024L * 1024 * 1024 / 4 / 3;
    private static volatile long max = PIL_DEFAULT;

    private PixelLimit() {}

    /** The limit in pixels; 0 means none. */
    public static long max() { return max; }

    /** Sets the limit (0: none). */
    public static void set(long pixels) {
        if (pixels < 0) throw new IllegalArgumentException("pixel limit must be >= 0 (0 = none), got " + pixels);
        max = pixels;
    }

    /** Refuses an image whose header declares more pixels than the limit. */
    static void check(String file, long width, long height) throws CorruptImageException {
        long limit = max, pixels = width * height;
        if (limit > 0 && pixels > limit)
            throw new CorruptImageException(file, width + "x" + height + " = " + pixels + " pixels is over the limit of " + limit
                    + " (a decompression bomb? --max-image-pixels raises the limit, 0 removes it)");
    }
}
