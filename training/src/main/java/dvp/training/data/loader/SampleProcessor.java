package dvp.training.data.loader;

import dvp.engine.Rng;
import dvp.training.data.ImageDataset;
import dvp.training.data.SampleSource;
import dvp.training.data.decode.Decoded;
import dvp.training.data.decode.ImageDecoder;
import dvp.training.data.decode.ImageInfo;
import dvp.training.data.image.Image8;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.ViewParams;
import dvp.training.data.transforms.ViewTransform;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What a loader worker does for one sample: read it, draw every view's parameters (from the
 * sample's own seeded streams, knowing only the image size), decode once — shrunk by DCT scaling
 * when every view can afford it — apply each view and write it as normalised float CHW into its
 * batch buffer. Stateless apart from configuration; safe to call from many threads.
 */
public final class SampleProcessor {
    private final ImageDataset dataset;
    private final List<ViewTransform> views;
    private final Normalize normalize;
    private final ImageDecoder decoder;
    private final double dctOversample;
    private final long seed;
    private final boolean canScale;

    /**
     * @param dctOversample DCT-scaled decoding is used only when the source keeps at least this
     *                      many times the pixels each view resamples to (≤ 0 disables it; 2 is
     *                      "the target is much smaller than the image")
     */
    public SampleProcessor(ImageDataset dataset, List<ViewTransform> views, Normalize normalize, ImageDecoder decoder,
                           double dctOversample, long seed) {
        if (views.isEmpty()) throw new IllegalArgumentException("loader: at least one view transform is needed");
        this.dataset = dataset;
        this.views = List.copyOf(views);
        this.normalize = normalize;
        this.decoder = decoder;
        this.dctOversample = dctOversample;
        this.seed = seed;
        this.canScale = dctOversample > 0 && decoder.supportsScaling();
    }

    public List<ViewTransform> views() { return views; }

    public Normalize normalize() { return normalize; }

    /** Float elements of one view of one sample. */
    public long viewElements(int v) { return (long) normalize.channels() * views.get(v).outHeight() * views.get(v).outWidth(); }

    /**
     * Processes sample {@code index} of {@code epoch}: view v goes to outs[v] at element offset
     * elementOffsets[v]. Returns the label. timing[0] and timing[1] accumulate decode and augment
     * nanoseconds.
     *
     * @throws IOException when the sample cannot be read or decoded (the message names the file)
     */
    public int process(int epoch, int index, MemorySegment[] outs, long[] elementOffsets, long[] timing) throws IOException {
        long t0 = System.nanoTime();
        SampleSource src = dataset.read(index);
        String name = dataset.describe(index);
        ViewParams[] params = new ViewParams[views.size()];
        Image8 image;
        double scale = 1.0;
        if (src instanceof SampleSource.Pixels(Image8 px)) {
            image = px;
            sample(epoch, index, image.width, image.height, params);
        } else {
            byte[] bytes = ((SampleSource.Encoded) src).bytes();
            if (canScale && bytes.length > 3 && (bytes[0] & 0xFF) == 0xFF && (bytes[1] & 0xFF) == 0xD8) {
                ImageInfo info = decoder.probe(bytes, name);
                sample(epoch, index, info.width(), info.height(), params);
                double minScale = 0;
                for (ViewParams p : params) minScale = Math.max(minScale, p.minSourceScale(dctOversample));
                Decoded d = decoder.decode(bytes, name, minScale);
                image = d.image();
                scale = d.scale();
            } else {
                Decoded d = decoder.decode(bytes, name, 1.0);
                image = d.image();
                sample(epoch, index, image.width, image.height, params);
            }
        }
        long t1 = System.nanoTime();
        for (int v = 0; v < views.size(); v++) {
            Image8 out = views.get(v).apply(image, scale, params[v]);
            normalize.writeChw(out, outs[v], elementOffsets[v] * 4);
        }
        long t2 = System.nanoTime();
        timing[0] += t1 - t0;
        timing[1] += t2 - t1;
        return dataset.label(index);
    }

    private void sample(int epoch, int index, int w, int h, ViewParams[] params) {
        for (int v = 0; v < views.size(); v++) {
            Rng rng = SampleSeeds.view(seed, epoch, index, v);
            params[v] = views.get(v).sample(rng, w, h);
        }
    }
}
