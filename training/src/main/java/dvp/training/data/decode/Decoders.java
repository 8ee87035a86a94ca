package dvp.training.data.decode;

/**
 * Picks the decoder: libjpeg-turbo for JPEGs when the library loads, ImageIO for everything else.
 * Which one runs is a line of {@code dvp doctor}, not a message in every run (most runs read no JPEG).
 */
public final class Decoders {
    private static volatile ImageDecoder auto;

    private Decoders() {}

    public static ImageDecoder imageIo() { return new ImageIoDecoder(); }

    /** TurboJPEG (with ImageIO for non-JPEG files) when available, otherwise ImageIO. */
    public static ImageDecoder auto() {
        ImageDecoder d = auto;
        if (d == null) {
            synchronized (Decoders.class) {
                if (auto == null) {
                    auto = TurboJpegDecoder.available() ? new TurboJpegDecoder(new ImageIoDecoder()) : new ImageIoDecoder();
                }
                d = auto;
            }
        }
        return d;
    }

    /** "auto", "turbojpeg" (fails with the reason when missing) or "imageio". */
    public static ImageDecoder byName(String name) {
        return switch (name) {
            case "auto" -> auto();
            case "imageio" -> imageIo();
            case "turbojpeg" -> new TurboJpegDecoder(new ImageIoDecoder());
            default -> throw new IllegalArgumentException("unknown decoder '" + name + "' (auto, turbojpeg, imageio)");
        };
    }
}
