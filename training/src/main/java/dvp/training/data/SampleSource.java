package dvp.training.data;

import dvp.training.data.image.Image8;

/**
 * One sample's pixels as a dataset stores them: encoded file bytes (decoded by the loader's
 * worker, which may choose a DCT scale first) or already-decoded pixels (IDX datasets).
 */
public sealed interface SampleSource {
    record Encoded(byte[] bytes) implements SampleSource {}

    record Pixels(Image8 image) implements SampleSource {}
}
