package dvp.training.data.transforms;

import dvp.training.data.TestImages;
import dvp.training.data.decode.DecoderTest;
import dvp.training.data.decode.Decoders;
import dvp.training.data.decode.ImageDecoder;
import dvp.training.data.decode.ImageWriters;
import dvp.training.data.decode.TurboJpegDecoder;
import dvp.training.data.image.ColorOps;
import dvp.training.data.image.GaussianBlurPil;
import dvp.training.data.image.Geometry;
import dvp.training.data.image.Image8;
import dvp.training.data.image.Resample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity of the deterministic transforms with torchvision 0.14 / PIL 9.4 / scipy on the same
 * pixels: {@code src/test/python/torchvision_parity.py} computes the references with Debian's
 * {@code /usr/bin/python3}; every case must have a mean absolute error ≤ 1/255 per value, and the
 * cases we implement with PIL's exact arithmetic must match bit for bit. The per-case maximum
 * error is printed as a table. Skips (with the reason) when Python or torchvision is missing.
 */
public class TorchvisionParityTest {
    static final Path PYTHON = Path.of("/usr/bin/python3");
    static final Path SCRIPT = Path.of("src/test/python/torchvision_parity.py");

    /** ours returns an Image8 (compared as uint8 HWC) or a float[] (CHW). exact: must be bit-identical. */
    record Case(String name, String input, String mode, String op, List<Object> args, Function<Image8, Object> ours, boolean exact) {}

    public static boolean pythonHasTorchvision() {
        if (!Files.isExecutable(PYTHON)) return false;
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torchvision, PIL, numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void deterministicTransformsMatchTorchvision(@TempDir Path dir) throws Throwable {
        org.junit.jupiter.api.Assumptions.assumeTrue(pythonHasTorchvision(),
                "skipped: /usr/bin/python3 with torchvision, PIL and numpy is not installed (apt-get install python3-torchvision)");
        Map<String, Image8> images = new HashMap<>();
        images.put("a.png", TestImages.natural(500, 375, 1));
        images.put("b.png", TestImages.natural(333, 500, 2));
        images.put("c.png", TestImages.natural(37, 29, 3));
        images.put("d.png", TestImages.natural(224, 224, 4));
        images.put("g.png", ColorOps.grayscale(TestImages.natural(160, 120, 5), 1));
        images.put("t.png", TestImages.natural(5, 4, 6));
        for (var e : images.entrySet()) ImageWriters.writePng(e.getValue(), dir.resolve(e.getKey()));

        List<Case> cases = new ArrayList<>();
        // resizing and cropping (PIL bilinear with antialias; crops at fixed boxes)
        cases.add(c("resize_a_224", "a.png", "resize", List.of(224, 224), im -> Resample.resize(im, 224, 224), true));
        cases.add(c("resize_a_123x77", "a.png", "resize", List.of(123, 77), im -> Resample.resize(im, 123, 77), true));
        cases.add(c("resize_a_up", "a.png", "resize", List.of(800, 600), im -> Resample.resize(im, 800, 600), true));
        cases.add(c("resize_b_224", "b.png", "resize", List.of(224, 224), im -> Resample.resize(im, 224, 224), true));
        cases.add(c("resize_c_up", "c.png", "resize", List.of(224, 224), im -> Resample.resize(im, 224, 224), true));
        cases.add(cm("resize_g", "g.png", "L", "resize", List.of(100, 80), im -> Resample.resize(im, 100, 80), true));
        cases.add(c("resize_shorter_a", "a.png", "resize_shorter", List.of(256), im -> Crops.resizeShorter(im, 256), true));
        cases.add(c("resize_shorter_b", "b.png", "resize_shorter", List.of(256), im -> Crops.resizeShorter(im, 256), true));
        cases.add(c("rcrop_a_1", "a.png", "resized_crop", List.of(10, 20, 300, 250, 224, 224), im -> Resample.resizedCrop(im, 20, 10, 250, 300, 224, 224), true));
        cases.add(c("rcrop_a_full", "a.png", "resized_crop", List.of(0, 0, 375, 500, 224, 224), im -> Resample.resizedCrop(im, 0, 0, 500, 375, 224, 224), true));
        cases.add(c("rcrop_b_up", "b.png", "resized_crop", List.of(100, 50, 60, 90, 224, 224), im -> Resample.resizedCrop(im, 50, 100, 90, 60, 224, 224), true));
        cases.add(c("rcrop_a_edge", "a.png", "resized_crop", List.of(200, 390, 175, 110, 96, 64), im -> Resample.resizedCrop(im, 390, 200, 110, 175, 96, 64), true));
        cases.add(c("crop_a", "a.png", "crop", List.of(5, 7, 100, 120), im -> Geometry.crop(im, 7, 5, 120, 100), true));
        cases.add(c("ccrop_a", "a.png", "center_crop", List.of(224, 224), im -> Crops.centerCrop(im, 224, 224), true));
        cases.add(c("ccrop_b_odd", "b.png", "center_crop", List.of(225, 211), im -> Crops.centerCrop(im, 225, 211), true));
        cases.add(c("ccrop_c_pad", "c.png", "center_crop", List.of(64, 48), im -> Crops.centerCrop(im, 64, 48), true));
        for (int k = 0; k < 10; k++) {
            int kk = k;
            cases.add(c("tencrop_a_" + k, "a.png", "ten_crop", List.of(224, 200, k), im -> Crops.tenCrop(im, 224, 200)[kk], true));
        }
        // resize(256) + center crop(224) + ToTensor + Normalize, through the EvalView the loader uses
        for (String in : List.of("a.png", "b.png", "c.png")) {
            EvalView v = EvalView.of(224);
            cases.add(c("eval_" + in.charAt(0), in, "eval", List.of(224),
                    im -> Normalize.IMAGENET.toChw(v.apply(im, v.sample(null, im.width, im.height))), true));
        }
        cases.add(c("normalize_a", "a.png", "to_tensor_normalize", List.of(), Normalize.IMAGENET::toChw, true));
        // colour ops at fixed factors
        for (double f : new double[]{0.0, 0.6, 1.0, 1.37, 2.5}) {
            cases.add(c("brightness_" + f, "a.png", "brightness", List.of(f), im -> ColorOps.brightness(im, f), true));
            cases.add(c("contrast_" + f, "a.png", "contrast", List.of(f), im -> ColorOps.contrast(im, f), true));
            cases.add(c("saturation_" + f, "a.png", "saturation", List.of(f), im -> ColorOps.saturation(im, f), true));
        }
        cases.add(cm("contrast_g", "g.png", "L", "contrast", List.of(0.7), im -> ColorOps.contrast(im, 0.7), true));
        cases.add(cm("brightness_g", "g.png", "L", "brightness", List.of(1.3), im -> ColorOps.brightness(im, 1.3), true));
        for (double f : new double[]{-0.5, -0.1, -0.037, 0.0, 0.05, 0.1, 0.5}) {
            cases.add(c("hue_" + f, "a.png", "hue", List.of(f), im -> ColorOps.hue(im, f), true));
        }
        cases.add(c("grayscale_a", "a.png", "grayscale", List.of(), im -> ColorOps.grayscale(im, 3), true));
        cases.add(c("hflip_a", "a.png", "hflip", List.of(), Geometry::hflip, true));
        // MoCo's blur: PIL GaussianBlur(radius = sigma)
        for (double s : new double[]{0.1, 0.5, 1.0, 1.37, 2.0}) {
            cases.add(c("blur_a_" + s, "a.png", "gaussian_blur_pil", List.of(s), im -> GaussianBlurPil.blur(im, s), true));
        }
        cases.add(c("blur_c_2", "c.png", "gaussian_blur_pil", List.of(2.0), im -> GaussianBlurPil.blur(im, 2.0), true));
        for (double s : new double[]{0.7, 2.0}) // radius wider than the image: PIL's other edge case
            cases.add(c("blur_tiny_" + s, "t.png", "gaussian_blur_pil", List.of(s), im -> GaussianBlurPil.blur(im, s), true));
        cases.add(cm("blur_g", "g.png", "L", "gaussian_blur_pil", List.of(1.5), im -> GaussianBlurPil.blur(im, 1.5), true));
        // AutoAugment ops: torchvision's (PIL, nearest) and the DVP/4uiiurz1 ones (scipy cubic spline)
        Object[][] tv = {{"ShearX", 0.2}, {"ShearY", -0.3}, {"TranslateX", 60.0}, {"TranslateY", -45.0}, {"Rotate", 30.0}, {"Rotate", -13.3},
                {"Brightness", -0.4}, {"Color", 0.5}, {"Contrast", 0.9}, {"Sharpness", 0.6}, {"Sharpness", -0.9}, {"Posterize", 5.0},
                {"Solarize", 100.0}, {"AutoContrast", 0.0}, {"Equalize", 0.0}, {"Invert", 0.0}};
        for (Object[] t : tv) {
            AutoAugment.Op op = opOf((String) t[0]);
            double m = (Double) t[1];
            cases.add(c("tv_" + t[0] + "_" + m, "d.png", "tv_aa", List.of(t[0], m), im -> AutoAugment.torchvisionOp(im, op, m), true));
        }
        Object[][] dvpOps = {{"ShearX", 0.17}, {"ShearY", -0.23}, {"TranslateX", 0.31}, {"TranslateY", -0.4}, {"Rotate", 23.5}, {"Rotate", -4.0},
                {"Solarize", 137.7}, {"Posterize", 6.3}, {"Contrast", 1.7}, {"Color", 0.2}, {"Brightness", 1.5}, {"Sharpness", 0.15},
                {"Sharpness", 1.9}, {"AutoContrast", 0.0}, {"Invert", 0.0}, {"Equalize", 0.0}};
        for (Object[] t : dvpOps) {
            AutoAugment.Op op = opOf((String) t[0]);
            double m = (Double) t[1];
            boolean warp = op.ordinal() <= AutoAugment.Op.ROTATE.ordinal();
            cases.add(c("dvp_" + t[0] + "_" + m, "d.png", "dvp_aa", List.of(t[0], m), im -> AutoAugment.dvpOp(im, op, m), !warp));
        }

        // decoding: torchvision's pil_loader (PIL + libjpeg-turbo) vs our decoders on the same files
        ImageWriters.writeJpeg(images.get("a.png"), dir.resolve("a.jpg"), 0.9f);
        ImageWriters.writeJpeg(images.get("g.png"), dir.resolve("g.jpg"), 0.9f);
        Files.write(dir.resolve("cmyk.jpg"), DecoderTest.resource("cmyk.jpg"));
        List<String> encoded = new ArrayList<>(List.of("a.jpg", "g.jpg", "cmyk.jpg", "b.png"));
        if (TurboJpegDecoder.available()) {
            Files.write(dir.resolve("ycck.jpg"), DecoderTest.writeYcck(64, 40));
            encoded.add("ycck.jpg");
        }
        List<ImageDecoder> decoders = new ArrayList<>(List.of(Decoders.imageIo()));
        if (TurboJpegDecoder.available()) decoders.add(new TurboJpegDecoder(Decoders.imageIo()));
        for (String file : encoded) {
            for (ImageDecoder d : decoders) {
                boolean turbo = d instanceof TurboJpegDecoder;
                byte[] bytes = Files.readAllBytes(dir.resolve(file));
                cases.add(new Case("decode_" + (turbo ? "turbo_" : "imageio_") + file, "", "RGB", "decode", List.of(dir.resolve(file).toString()),
                        ignored -> { try { return d.decode(bytes, file).image(); } catch (IOException e) { throw new RuntimeException(e); } },
                        turbo || file.endsWith(".png")));
            }
        }

        Path casesFile = dir.resolve("cases.jsonl");
        StringBuilder sb = new StringBuilder();
        for (Case k : cases) sb.append(json(k, dir)).append('\n');
        Files.writeString(casesFile, sb.toString());
        Process p = new ProcessBuilder(PYTHON.toString(), SCRIPT.toString(), casesFile.toString(), dir.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor() == 0, "parity script failed:\n" + log);

        Map<String, String[]> results = new HashMap<>();
        for (String line : Files.readAllLines(dir.resolve("results.txt"))) {
            if (line.isBlank()) continue;
            String[] f = line.split(" ", 3);
            results.put(f[0], line.split(" "));
        }
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "%-28s %10s %8s  %s%n", "case", "mean|d|", "max|d|", "(in 1/255 units)"));
        for (Case k : cases) {
            String[] r = results.get(k.name());
            if (r == null) { failures.add(k.name() + ": no result"); continue; }
            if (r[1].equals("SKIP")) { table.append(String.format(Locale.ROOT, "%-28s skipped: %s%n", k.name(), String.join(" ", List.of(r).subList(2, r.length)))); continue; }
            if (r[1].equals("ERROR")) { failures.add(k.name() + ": python error " + String.join(" ", List.of(r).subList(2, r.length))); continue; }
            int w = Integer.parseInt(r[2]), h = Integer.parseInt(r[3]), ch = Integer.parseInt(r[4]);
            byte[] ref = Files.readAllBytes(dir.resolve(k.name() + ".bin"));
            Image8 in = k.input().isEmpty() ? null : images.get(k.input());
            Object ours = k.ours().apply(in);
            double sum = 0, max = 0;
            long n;
            if (r[1].equals("u8")) {
                Image8 o = (Image8) ours;
                if (o.width != w || o.height != h || o.channels != ch) { failures.add(k.name() + ": size " + o + " vs reference " + w + "x" + h + "x" + ch); continue; }
                n = ref.length;
                for (int i = 0; i < ref.length; i++) { double d = Math.abs((ref[i] & 0xFF) - (o.data[i] & 0xFF)); sum += d; max = Math.max(max, d); }
            } else {
                float[] o = (float[]) ours;
                ByteBuffer bb = ByteBuffer.wrap(ref).order(ByteOrder.LITTLE_ENDIAN);
                n = ref.length / 4;
                if (o.length != n) { failures.add(k.name() + ": " + o.length + " values vs reference " + n); continue; }
                // errors of normalised values, expressed in 8-bit steps of the smallest std (≈ 1/255/0.225)
                for (int i = 0; i < n; i++) { double d = Math.abs(bb.getFloat(i * 4) - o[i]) * 255 * 0.225; sum += d; max = Math.max(max, d); }
            }
            double mean = sum / n;
            table.append(String.format(Locale.ROOT, "%-28s %10.5f %8.4f%s%n", k.name(), mean, max, k.exact() ? "  (exact expected)" : ""));
            if (mean > 1.0) failures.add(k.name() + ": mean abs error " + mean + "/255 > 1/255 (max " + max + ")");
            if (k.exact() && max > (r[1].equals("u8") ? 0 : 1e-3)) failures.add(k.name() + ": expected bit-identical, max error " + max + "/255");
        }
        System.out.println("torchvision parity (" + cases.size() + " cases):\n" + table);
        assertTrue(failures.isEmpty(), "parity failures:\n" + String.join("\n", failures) + "\n" + table);
    }

    static AutoAugment.Op opOf(String name) {
        return switch (name) {
            case "ShearX" -> AutoAugment.Op.SHEAR_X;
            case "ShearY" -> AutoAugment.Op.SHEAR_Y;
            case "TranslateX" -> AutoAugment.Op.TRANSLATE_X;
            case "TranslateY" -> AutoAugment.Op.TRANSLATE_Y;
            case "Rotate" -> AutoAugment.Op.ROTATE;
            case "AutoContrast" -> AutoAugment.Op.AUTO_CONTRAST;
            case "Invert" -> AutoAugment.Op.INVERT;
            case "Equalize" -> AutoAugment.Op.EQUALIZE;
            case "Solarize" -> AutoAugment.Op.SOLARIZE;
            case "Posterize" -> AutoAugment.Op.POSTERIZE;
            case "Contrast" -> AutoAugment.Op.CONTRAST;
            case "Color" -> AutoAugment.Op.COLOR;
            case "Brightness" -> AutoAugment.Op.BRIGHTNESS;
            case "Sharpness" -> AutoAugment.Op.SHARPNESS;
            default -> throw new IllegalArgumentException(name);
        };
    }

    static Case c(String name, String input, String op, List<Object> args, Function<Image8, Object> ours, boolean exact) {
        return new Case(name, input, "RGB", op, args, ours, exact);
    }

    static Case cm(String name, String input, String mode, String op, List<Object> args, Function<Image8, Object> ours, boolean exact) {
        return new Case(name, input, mode, op, args, ours, exact);
    }

    static String json(Case k, Path dir) {
        StringBuilder a = new StringBuilder("[");
        for (int i = 0; i < k.args().size(); i++) {
            Object v = k.args().get(i);
            if (i > 0) a.append(", ");
            a.append(v instanceof String s ? "\"" + s + "\"" : v.toString());
        }
        a.append("]");
        return String.format(Locale.ROOT, "{\"name\": \"%s\", \"input\": \"%s\", \"mode\": \"%s\", \"op\": \"%s\", \"args\": %s}",
                k.name(), k.input().isEmpty() ? "" : dir.resolve(k.input()), k.mode(), k.op(), a);
    }
}
