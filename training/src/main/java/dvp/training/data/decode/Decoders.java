package dvp.training.data.decode;

import java.util.logging.Logger;

/** Picks the decoder: libjpeg-turbo for JPEGs when the library loads, ImageIO for everything else. */
public final class Decoders {
    private static final Logger LOG = Logger.getLogger(Decoders.class.getName());
    private static volatile ImageDecoder auto;

    private Decoders() {}

    public static ImageDecoder imageIo() { return new ImageIoDecoder(); }

    /** TurboJPEG (with ImageIO for non-JPEG files) when available, otherwise ImageIO; logs which once. */
    public static ImageDecoder auto() {
        ImageDecoder d = auto;
        if (d == null) {
            synchronized (Decoders.class) {
                if (auto == null) {
                    if (TurboJpegDecoder.available()) {
                        auto = new TurboJpegDecoder(new ImageIoDecoder());
                    } else {
                        LOG.info("JPEG decoding through ImageIO (slower, no DCT scaling): " + TurboJpegDecoder.unavailableReason());
                        auto = new ImageIoDecoder();
                    }
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
