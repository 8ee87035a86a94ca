package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.TestImages;
import dvp.training.data.image.ColorOps;
import dvp.training.data.image.Image8;
import dvp.training.data.image.Resample;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The random parameter ranges and probabilities of every random transform, and their determinism. */
class RandomTransformsTest {
    static final int N = 4000;

    @Test
    void randomResizedCropStaysInItsScaleAndRatioRanges() {
        Rng rng = new Rng(1);
        double minFrac = 1, maxFrac = 0, minRatio = 9, maxRatio = 0;
        for (RandomResizedCrop rrc : new RandomResizedCrop[]{RandomResizedCrop.MOCO, RandomResizedCrop.DEFAULT}) {
            minFrac = 1; maxFrac = 0; minRatio = 9; maxRatio = 0;
            for (int i = 0; i < N; i++) {
                CropBox b = rrc.sample(rng, 500, 375);
                assertTrue(b.inside(500, 375), b.toString());
                double frac = (double) b.width() * b.height() / (500.0 * 375), ratio = (double) b.width() / b.height();
                minFrac = Math.min(minFrac, frac); maxFrac = Math.max(maxFrac, frac);
                minRatio = Math.min(minRatio, ratio); maxRatio = Math.max(maxRatio, ratio);
            }
            // w and h are rounded to whole pixels, hence the small tolerances
            assertTrue(minFrac >= rrc.scaleMin() * 0.97 && minFrac < rrc.scaleMin() * 1.2, "min area fraction " + minFrac);
            assertTrue(maxFrac <= 1.0 && maxFrac > 0.9, "max area fraction " + maxFrac);
            assertTrue(minRatio >= 0.75 * 0.97 && minRatio < 0.8, "min ratio " + minRatio);
            assertTrue(maxRatio <= 4.0 / 3 * 1.03 && maxRatio > 1.25, "max ratio " + maxRatio);
        }
    }

    @Test
    void randomResizedCropFallsBackToTorchvisionsCentralCrop() {
        RandomResizedCrop rrc = RandomResizedCrop.DEFAULT;
        // too wide for any aspect in [3/4, 4/3] at scale >= 0.08... the 10 attempts fail → fallback
        assertEquals(new CropBox(0, 493, 10, 13), rrc.fallback(1000, 10)); // h = 10, w = round(10·4/3) = 13, left = (1000 − 13) // 2
        assertEquals(new CropBox(493, 0, 13, 10), rrc.fallback(10, 1000)); // w = 10, h = round(10/(3/4)) = 13
        assertEquals(new CropBox(0, 0, 375, 500), rrc.fallback(500, 375)); // in range: whole image
        Rng rng = new Rng(3);
        for (int i = 0; i < 50; i++) assertEquals(new CropBox(0, 493, 10, 13), rrc.sample(rng, 1000, 10));
    }

    @Test
    void colorJitterFactorsOrderAndProbability() {
        Rng rng = new Rng(2);
        int applied = 0;
        Set<String> orders = new HashSet<>();
        for (int i = 0; i < N; i++) {
            ColorJitter.Params p = ColorJitter.MOCO_V2.sample(rng);
            if (!p.applied()) continue;
            applied++;
            int[] o = p.order().clone();
            orders.add(Arrays.toString(o));
            Arrays.sort(o);
            assertArrayEquals(new int[]{0, 1, 2, 3}, o, "order is a permutation");
            for (double f : new double[]{p.brightness(), p.contrast(), p.saturation()}) assertTrue(f >= 0.6 && f <= 1.4, "factor " + f);
            assertTrue(p.hue() >= -0.1 && p.hue() <= 0.1);
        }
        assertEquals(0.8, (double) applied / N, 0.025, "RandomApply p = 0.8");
        assertEquals(24, orders.size(), "all 4! orders occur");
        ColorJitter noHue = new ColorJitter(0.5, 0, 0, 0, 1.0);
        ColorJitter.Params p = noHue.sample(rng);
        assertTrue(p.applied());
        assertTrue(Double.isNaN(p.contrast()) && Double.isNaN(p.hue()));
        assertTrue(p.brightness() >= 0.5 && p.brightness() <= 1.5);
        Image8 im = TestImages.natural(20, 10, 1);
        assertEquals(ColorOps.brightness(im, p.brightness()), ColorJitter.apply(im, p), "disabled ops are skipped");
        assertSame(im, ColorJitter.apply(im, ColorJitter.Params.NONE));
    }

    @Test
    void colorJitterAppliesTheOpsInTheSampledOrder() {
        Image8 im = TestImages.natural(30, 20, 2);
        ColorJitter.Params p = new ColorJitter.Params(true, new int[]{3, 1, 0, 2}, 1.3, 0.7, 1.2, 0.05);
        Image8 expected = ColorOps.saturation(ColorOps.brightness(ColorOps.contrast(ColorOps.hue(im, 0.05), 0.7), 1.3), 1.2);
        assertEquals(expected, ColorJitter.apply(im, p));
        ColorJitter.Params q = new ColorJitter.Params(true, new int[]{0, 1, 2, 3}, 1.3, 0.7, 1.2, 0.05);
        assertNotEquals(expected, ColorJitter.apply(im, q), "order matters");
    }

    @Test
    void grayscaleBlurAndFlipProbabilitiesAndRanges() {
        Rng rng = new Rng(4);
        int gray = 0, blur = 0, flip = 0;
        RandomGrayscale g = new RandomGrayscale(0.2);
        for (int i = 0; i < N; i++) {
            if (g.sample(rng)) gray++;
            double s = RandomGaussianBlur.MOCO_V2.sample(rng);
            if (s > 0) {
                blur++;
                assertTrue(s >= 0.1 && s <= 2.0, "sigma " + s);
            }
            if (RandomHorizontalFlip.HALF.sample(rng)) flip++;
        }
        assertEquals(0.2, (double) gray / N, 0.02);
        assertEquals(0.5, (double) blur / N, 0.025);
        assertEquals(0.5, (double) flip / N, 0.025);
        Image8 im = TestImages.natural(8, 6, 3);
        Image8 gr = RandomGrayscale.apply(im, true);
        assertEquals(3, gr.channels);
        assertEquals(gr.get(2, 3, 0), gr.get(2, 3, 2));
        assertSame(im, RandomGrayscale.apply(im, false));
        assertSame(im, RandomGaussianBlur.apply(im, 0));
        assertEquals(im.get(0, 0, 1), RandomHorizontalFlip.apply(im, true).get(7, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new RandomGaussianBlur(0.5, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> new RandomGrayscale(1.5));
    }

    @Test
    void dvpAutoAugmentDrawsInsideTheBinWithTheBinsSign() {
        AutoAugment aa = new AutoAugment(AutoAugment.Policy.DVP_CIFAR10);
        Rng rng = new Rng(5);
        int[] policyCount = new int[25];
        int fired1 = 0, fired1Possible = 0;
        for (int i = 0; i < 20000; i++) {
            AutoAugment.Params p = aa.sample(rng, 224, 224);
            policyCount[p.subPolicy()]++;
            AutoAugment.Step[] sub = AutoAugment.CIFAR10[p.subPolicy()];
            if (sub[0].op() == AutoAugment.Op.EQUALIZE && sub[0].p() == 0.6) { fired1Possible++; if (p.apply1()) fired1++; }
            checkDvpMagnitude(sub[0], p.apply1(), p.magnitude1());
            checkDvpMagnitude(sub[1], p.apply2(), p.magnitude2());
            if (p.subPolicy() == 14) assertFalse(p.apply2(), "Invert with probability 0 never fires");
        }
        for (int c : policyCount) assertEquals(20000 / 25.0, c, 150, "sub-policies are uniform");
        assertEquals(0.6, (double) fired1 / fired1Possible, 0.05);
    }

    static void checkDvpMagnitude(AutoAugment.Step st, boolean applied, double m) {
        if (!applied || !st.op().hasMagnitude()) {
            assertTrue(Double.isNaN(m));
            return;
        }
        double[] bins = AutoAugment.dvpBins(st.op(), 224, 224);
        assertTrue(m >= bins[st.k()] && m <= bins[st.k() + 1], st + " magnitude " + m);
    }

    @Test
    void dvpMagnitudeRulesDifferFromTorchvisionWhereAlgorithmsSaysSo() {
        double[] shear = AutoAugment.dvpBins(AutoAugment.Op.SHEAR_X, 224, 224);
        assertEquals(-0.3, shear[0], 1e-12);
        assertEquals(0.3, shear[10], 1e-12);
        assertTrue(shear[2] < 0 && shear[8] > 0, "sign comes from the bin");
        double[] sol = AutoAugment.dvpBins(AutoAugment.Op.SOLARIZE, 224, 224);
        assertEquals(256, sol[10]);
        assertTrue(sol[8] > sol[2], "DVP: higher index = higher threshold");
        assertTrue(AutoAugment.torchvisionMagnitude(AutoAugment.Op.SOLARIZE, 8, 224, 224) < AutoAugment.torchvisionMagnitude(AutoAugment.Op.SOLARIZE, 2, 224, 224),
                "torchvision: higher index = lower threshold");
        // Posterize index 7: DVP bin [6.8, 7.2] rounds to 7 bits; torchvision gives 5
        double[] post = AutoAugment.dvpBins(AutoAugment.Op.POSTERIZE, 224, 224);
        assertEquals(7, (int) Math.rint(post[7]));
        assertEquals(7, (int) Math.rint(post[8]));
        assertEquals(5, (int) AutoAugment.torchvisionMagnitude(AutoAugment.Op.POSTERIZE, 7, 224, 224));
        assertEquals(150.0 / 331 * 224, AutoAugment.torchvisionMagnitude(AutoAugment.Op.TRANSLATE_X, 9, 224, 300), 1e-3);
    }

    @Test
    void torchvisionAutoAugmentUsesBinValuesWithRandomSign() {
        AutoAugment aa = new AutoAugment(AutoAugment.Policy.TORCHVISION_IMAGENET);
        Rng rng = new Rng(6);
        int neg = 0, rot = 0;
        for (int i = 0; i < 20000; i++) {
            AutoAugment.Params p = aa.sample(rng, 224, 224);
            AutoAugment.Step st = AutoAugment.IMAGENET[p.subPolicy()][0];
            if (st.op() == AutoAugment.Op.ROTATE && p.apply1()) {
                rot++;
                assertEquals(AutoAugment.torchvisionMagnitude(AutoAugment.Op.ROTATE, st.k(), 224, 224), Math.abs(p.magnitude1()), 1e-9);
                if (p.magnitude1() < 0) neg++;
            }
            if (st.op() == AutoAugment.Op.POSTERIZE && p.apply1()) assertTrue(p.magnitude1() >= 4 && p.magnitude1() <= 8);
        }
        assertTrue(rot > 100);
        assertEquals(0.5, (double) neg / rot, 0.08, "signed ops flip sign half the time");
        Image8 im = TestImages.natural(32, 32, 7);
        AutoAugment.Params p = aa.sample(new Rng(1), 32, 32);
        assertEquals(aa.apply(im, p), aa.apply(im, p), "apply is a pure function of the parameters");
    }

    @Test
    void viewsAreDeterministicGivenTheRngAndReportTheirSourceRegion() {
        MocoV2View v = MocoV2View.of(32);
        Image8 im = TestImages.natural(120, 90, 8);
        MocoV2View.Params a = v.sample(new Rng(11), 120, 90), b = v.sample(new Rng(11), 120, 90), c = v.sample(new Rng(12), 120, 90);
        assertEquals(a.crop(), b.crop());
        assertEquals(a.blurSigma(), b.blurSigma());
        assertEquals(v.apply(im, a), v.apply(im, b));
        assertNotEquals(v.apply(im, a), v.apply(im, c));
        Image8 out = v.apply(im, a);
        assertEquals(32, out.width);
        assertEquals(32, out.height);
        assertEquals(a.crop(), a.region());
        assertEquals(1.0, a.minSourceScale(1000), "never more than the full image");
        EvalView.Params e = EvalView.of(224).sample(null, 500, 375);
        assertEquals(341, e.resizedWidth());
        assertEquals(256, e.resizedHeight());
        assertEquals(Math.max(1.0 * 341 / 500, 1.0 * 256 / 375), e.minSourceScale(1.0), 1e-12);
        assertEquals(1.0, e.minSourceScale(2.0), "capped at the full image");
        TrainView tv = TrainView.withAutoAugment(48, AutoAugment.Policy.DVP_CIFAR10);
        TrainView.Params tp = tv.sample(new Rng(3), 120, 90);
        assertNotNull(tp.autoAugment());
        assertEquals(48, tv.apply(im, tp).width);
        assertEquals(10, EvalView.tenCrop(224).length);
    }

    @Test
    void mocoParamsPackIntoAFlatRecordForADeviceKernel() {
        MocoV2View.Params p = MocoV2View.of(224).sample(new Rng(21), 500, 375);
        float[] f = new float[MocoV2View.Params.PACKED_LENGTH + 2];
        p.pack(f, 1);
        assertEquals(0f, f[0], "writes only its 16 slots");
        assertEquals(p.crop().top(), f[1]);
        assertEquals(p.crop().width(), f[4]);
        assertEquals(p.jitter().applied() ? 1f : 0f, f[5]);
        assertEquals(p.jitter().order()[2], (int) f[8]);
        assertEquals((float) p.jitter().hue(), f[13]);
        assertEquals((float) p.blurSigma(), f[15]);
        assertEquals(p.flip() ? 1f : 0f, f[16]);
        assertEquals(0f, f[17]);
        assertEquals(2, MocoV2View.twoViews(224).size());
    }

    @Test
    void cropOnAScaledSourceMatchesTheFullResolutionCrop() {
        Image8 full = TestImages.natural(400, 300, 9);
        Image8 half = Resample.resize(full, 200, 150);
        CropBox box = new CropBox(40, 60, 200, 260);
        Image8 a = Crops.resizedCrop(full, 1.0, box, 64, 64), b = Crops.resizedCrop(half, 0.5, box, 64, 64);
        double err = 0;
        for (int i = 0; i < a.data.length; i++) err += Math.abs((a.data[i] & 0xFF) - (b.data[i] & 0xFF));
        assertTrue(err / a.data.length < 4, "crop maps to the same content at half scale: " + err / a.data.length);
    }

    @Test
    void normalizeComputesTorchvisionsFloat32Formula() {
        Image8 im = Image8.filled(2, 1, 0, 128, 255);
        float[] chw = Normalize.IMAGENET.toChw(im);
        assertEquals(6, chw.length);
        assertEquals((0f / 255f - 0.485f) / 0.229f, chw[0]);
        assertEquals((128f / 255f - 0.456f) / 0.224f, chw[2]);
        assertEquals((255f / 255f - 0.406f) / 0.225f, chw[5]);
        assertThrows(IllegalArgumentException.class, () -> Normalize.IMAGENET.toChw(Image8.blank(2, 2, 1)), "channel mismatch is an error");
        assertEquals(0.5f, Normalize.none(1).toChw(Image8.filled(1, 1, 255))[0] * 0.5f);
    }
}
