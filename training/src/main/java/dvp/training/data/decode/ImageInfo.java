package dvp.training.data.decode;

/** What a decoder reads from an image header: size and format (e.g. "jpeg", "png"). */
public record ImageInfo(int width, int height, String format) {}
