package dvp.training.data.decode;

/**
 * Turns encoded image bytes into an 8-bit RGB image with the conversions torchvision's default
 * loader makes ({@code PIL.Image.open(f).convert("RGB")}): grayscale is replicated into R, G, B;
 * alpha is dropped (not composited); palette images are expanded; CMYK is converted with PIL's
 * formula and Adobe polarity. A file that cannot be decoded completely — empty, truncated, not an
 * image, corrupt — throws {@link CorruptImageException} naming it; a decoder never returns a
 * partially filled image.
 *
 * <p>Implementations are thread-safe.
 */
public interface ImageDecoder {
    String name();

    /** Size and format from the header, without decoding pixels. */
    ImageInfo probe(byte[] data, String file) throws CorruptImageException;

    /**
     * Decodes the image, shrunk by the largest factor the decoder supports (JPEG DCT scaling:
     * 1/8 … 1) that still keeps at least {@code minScale} of the original size; 1 means a full
     * decode. Decoders without scaling always decode fully.
     */
    Decoded decode(byte[] data, String file, double minScale) throws CorruptImageException;

    default Decoded decode(byte[] data, String file) throws CorruptImageException { return decode(data, file, 1.0); }

    /** Whether {@link #decode} can shrink JPEGs (so probing the header first pays off). */
    default boolean supportsScaling() { return false; }
}
