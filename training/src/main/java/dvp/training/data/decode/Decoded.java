package dvp.training.data.decode;

import dvp.training.data.image.Image8;

/**
 * A decoded image and its size relative to the original: {@code scale} is 1 for a full decode and
 * num/denom when a JPEG was decoded with DCT scaling (the image then has
 * ⌈W·scale⌉ × ⌈H·scale⌉ pixels). originalWidth/Height are the header's.
 */
public record Decoded(Image8 image, double scale, int originalWidth, int originalHeight) {}
