package dvp.bench.loader;

import dvp.engine.Rng;
import dvp.training.data.ImageFolder;
import dvp.training.data.decode.Decoders;
import dvp.training.data.decode.ImageDecoder;
import dvp.training.data.decode.ImageWriters;
import dvp.training.data.image.Image8;
import dvp.training.data.loader.Batch;
import dvp.training.data.loader.DataLoader;
import dvp.training.data.loader.SampleProcessor;
import dvp.training.data.transforms.MocoV2View;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.ViewTransform;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Two-view MoCo v2 augmentation throughput (issue 6): decode a JPEG, draw both views' parameters,
 * RandomResizedCrop 224 → ColorJitter (p 0.8) → grayscale (0.2) → PIL Gaussian blur (0.5) → flip →
 * normalised float CHW. {@code bench/loader/run-loader-bench.sh} runs it back to back with
 * {@code bench/loader/torchvision_moco.py} (PyTorch DataLoader + torchvision on the same files).
 *
 * <pre>
 *   LoaderBench make DIR N            write N ImageNet-sized JPEGs (500×375, q 90) as an ImageFolder
 *   LoaderBench run DIR [--seconds S] [--warmup S] [--workers W] [--size 224] [--decoder auto|imageio|turbojpeg] [--dct 2]
 * </pre>
 * "per core" = one thread calling the sample pipeline directly (what a worker does);
 * "loader" = the DataLoader with W workers, batch 64, copying batches to CPU tensors.
 */
public final class LoaderBench {
    private LoaderBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: LoaderBench make DIR N | LoaderBench run DIR [--seconds S] [--warmup S] [--workers W] [--size PX] [--decoder NAME] [--dct X]");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        if (args[0].equals("make")) {
            make(dir, Integer.parseInt(args[2]));
            return;
        }
        double seconds = 20, warmup = 5, dct = 2.0;
        int workers = Runtime.getRuntime().availableProcessors(), size = 224;
        String decoderName = "auto";
        for (int i = 2; i < args.length; i += 2) {
            switch (args[i]) {
                case "--seconds" -> seconds = Double.parseDouble(args[i + 1]);
                case "--warmup" -> warmup = Double.parseDouble(args[i + 1]);
                case "--workers" -> workers = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--decoder" -> decoderName = args[i + 1];
                case "--dct" -> dct = Double.parseDouble(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        ImageFolder ds = ImageFolder.open(dir);
        ImageDecoder decoder = Decoders.byName(decoderName);
        List<ViewTransform> views = List.of(MocoV2View.of(size), MocoV2View.of(size));
        System.out.printf(Locale.ROOT, "dvp MoCo v2 two-view %dpx on %d images from %s, decoder %s, dct oversample %.1f, %d cores%n",
                size, ds.size(), dir, decoder.name(), dct, Runtime.getRuntime().availableProcessors());
        perCore(ds, views, decoder, dct, warmup, seconds);
        if (workers > 0) loader(ds, views, decoder, dct, workers, warmup, seconds);
    }

    static void perCore(ImageFolder ds, List<ViewTransform> views, ImageDecoder decoder, double dct, double warmup, double seconds) throws IOException {
        SampleProcessor p = new SampleProcessor(ds, views, Normalize.IMAGENET, decoder, dct, 1);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment[] outs = {a.allocate(p.viewElements(0) * 4), a.allocate(p.viewElements(1) * 4)};
            long[] off = {0, 0}, timing = new long[2];
            int i = 0, epoch = 0;
            long end = System.nanoTime() + (long) (warmup * 1e9);
            while (System.nanoTime() < end) { p.process(epoch, i, outs, off, timing); if (++i == ds.size()) { i = 0; epoch++; } }
            timing[0] = timing[1] = 0;
            // process CPU time (this thread + JIT + GC), like Python's process_time on the other side
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long n = 0, t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            end = t0 + (long) (seconds * 1e9);
            while (System.nanoTime() < end) { p.process(epoch, i, outs, off, timing); n++; if (++i == ds.size()) { i = 0; epoch++; } }
            double s = (System.nanoTime() - t0) / 1e9, cpu = (os.getProcessCpuTime() - c0) / 1e9;
            System.out.printf(Locale.ROOT, "RESULT dvp per-core: %.1f images/s wall, %.1f images per CPU-second (%d images in %.1f s, %.1f CPU-s; decode %.2f ms, augment both views %.2f ms per image, wall)%n",
                    n / s, n / cpu, n, s, cpu, timing[0] / 1e6 / n, timing[1] / 1e6 / n);
        }
    }

    static void loader(ImageFolder ds, List<ViewTransform> views, ImageDecoder decoder, double dct, int workers, double warmup, double seconds) {
        try (DataLoader l = DataLoader.builder(ds, views).batchSize(64).workers(workers).prefetch(3).decoder(decoder).dctOversample(dct).seed(1).build()) {
            long n = 0, t0 = 0;
            long warmEnd = System.nanoTime() + (long) (warmup * 1e9), end = Long.MAX_VALUE;
            for (int e = 0; ; e++) {
                DataLoader.Epoch ep = l.epoch(e);
                while (ep.hasNext()) {
                    Batch b = ep.next();
                    long now = System.nanoTime();
                    if (t0 == 0 && now >= warmEnd) { t0 = now; end = now + (long) (seconds * 1e9); }
                    else if (t0 != 0) n += b.size();
                    if (now >= end) {
                        double s = (now - t0) / 1e9;
                        System.out.printf(Locale.ROOT, "RESULT dvp loader (%d workers, batch 64): %.1f images/s (%d images in %.1f s); %s%n", workers, n / s, n, s, l.stats());
                        return;
                    }
                }
            }
        }
    }

    /** N JPEGs of 500×375 with photo-like content (gradients, shapes, texture, mild noise) in 4 class folders. */
    static void make(Path dir, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            Path f = dir.resolve("class" + (i % 4)).resolve(String.format(Locale.ROOT, "img%05d.JPEG", i));
            if (Files.exists(f)) continue;
            Files.createDirectories(f.getParent());
            ImageWriters.writeJpeg(photo(500, 375, i), f, 0.9f);
        }
        System.out.println("made " + n + " JPEGs under " + dir);
    }

    static Image8 photo(int w, int h, long seed) {
        Rng rng = new Rng(seed);
        byte[] d = new byte[w * h * 3];
        double[][] blobs = new double[12][];
        for (int b = 0; b < blobs.length; b++)
            blobs[b] = new double[]{rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.03, 0.25) * h, rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)};
        double[] base = {rng.uniform(40, 220), rng.uniform(40, 220), rng.uniform(40, 220)};
        double fx = rng.uniform(0.02, 0.3), fy = rng.uniform(0.02, 0.3);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double[] c = {base[0] + 60.0 * x / w, base[1] + 50.0 * y / h, base[2] - 40.0 * x / w};
                for (double[] b : blobs) {
                    double r = Math.hypot(x - b[0], y - b[1]);
                    if (r < b[2]) { double t = 1 - r / b[2]; for (int k = 0; k < 3; k++) c[k] = c[k] * (1 - t) + b[3 + k] * t; }
                }
                double tex = 10 * Math.sin(x * fx + Math.cos(y * fy) * 3);
                int i = (y * w + x) * 3;
                for (int k = 0; k < 3; k++) d[i + k] = (byte) Math.max(0, Math.min(255, Math.round(c[k] + tex + rng.uniform(-4, 4))));
            }
        }
        return new Image8(w, h, 3, d);
    }
}
