package dvp.training.data.transforms;

import dvp.engine.Rng;
import dvp.training.data.image.ColorOps;
import dvp.training.data.image.Geometry;
import dvp.training.data.image.Image8;
import dvp.training.data.image.PilOps;

/**
 * AutoAugment in two flavours (ALGORITHMS §4.3):
 * <ul>
 *   <li>{@link Policy#DVP_CIFAR10} — what the DVP code ran (its copy of 4uiiurz1's
 *       {@code auto_augment.py}): the CIFAR-10 sub-policies; a magnitude index k picks the bin
 *       [v_k, v_k+1] of an 11-point linspace and the value is drawn <b>uniformly inside the bin</b>,
 *       its sign fixed by the bin; geometric ops are scipy cubic-spline affine warps about the point
 *       (H/2 + ½, W/2 + ½) with black fill; Solarize's threshold grows with k; Posterize rounds
 *       U[4..8] bins to bits.</li>
 *   <li>{@link Policy#TORCHVISION_IMAGENET} / {@link Policy#TORCHVISION_CIFAR10} — torchvision
 *       0.14's {@code AutoAugment(policy)} on PIL images: 10-bin magnitudes, random sign for signed
 *       ops, nearest-neighbour PIL affine warps, fill 0.</li>
 * </ul>
 * It runs on the 8-bit image after crop and flip, at training resolution.
 */
public record AutoAugment(Policy policy) {

    public enum Op {
        SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, ROTATE, AUTO_CONTRAST, INVERT, EQUALIZE, SOLARIZE, POSTERIZE,
        CONTRAST, COLOR, BRIGHTNESS, SHARPNESS;

        boolean hasMagnitude() { return this != AUTO_CONTRAST && this != INVERT && this != EQUALIZE; }
    }

    /** One sub-policy step: op, probability, magnitude index (ignored for ops without magnitude). */
    public record Step(Op op, double p, int k) {}

    public enum Policy {
        DVP_CIFAR10, TORCHVISION_CIFAR10, TORCHVISION_IMAGENET;

        Step[][] table() { return this == TORCHVISION_IMAGENET ? IMAGENET : CIFAR10; }
    }

    /**
     * Sampled parameters: the sub-policy, whether each of its two steps fires, and each step's
     * final signed magnitude (already binned, sign applied; NaN when the step does not fire or has
     * no magnitude).
     */
    public record Params(int subPolicy, boolean apply1, double magnitude1, boolean apply2, double magnitude2) {}

    public Params sample(Rng rng, int width, int height) {
        Step[][] t = policy.table();
        int s = rng.nextInt(t.length);
        boolean a1 = rng.nextDouble() < t[s][0].p();
        double m1 = a1 ? magnitude(rng, t[s][0], width, height) : Double.NaN;
        boolean a2 = rng.nextDouble() < t[s][1].p();
        double m2 = a2 ? magnitude(rng, t[s][1], width, height) : Double.NaN;
        return new Params(s, a1, m1, a2, m2);
    }

    private double magnitude(Rng rng, Step st, int width, int height) {
        if (!st.op().hasMagnitude()) return Double.NaN;
        if (policy == Policy.DVP_CIFAR10) {
            double[] bins = dvpBins(st.op(), width, height);
            return rng.uniform(bins[st.k()], bins[st.k() + 1]);
        }
        double m = torchvisionMagnitude(st.op(), st.k(), width, height);
        boolean signed = switch (st.op()) {
            case SHEAR_X, SHEAR_Y, TRANSLATE_X, TRANSLATE_Y, ROTATE, BRIGHTNESS, COLOR, CONTRAST, SHARPNESS -> true;
            default -> false;
        };
        if (signed && rng.nextInt(2) == 0) m = -m;
        return m;
    }

    /** numpy.linspace(lo, hi, n): i·step + lo, the last point exactly hi. */
    static double[] linspace(double lo, double hi, int n) {
        double[] v = new double[n];
        double step = (hi - lo) / (n - 1);
        for (int i = 0; i < n; i++) v[i] = i * step + lo;
        v[n - 1] = hi;
        return v;
    }

    /** The 11-point magnitude grid of the 4uiiurz1/DVP code (translations are fractions of the side). */
    static double[] dvpBins(Op op, int width, int height) {
        return switch (op) {
            case SHEAR_X, SHEAR_Y -> linspace(-0.3, 0.3, 11);
            case TRANSLATE_X, TRANSLATE_Y -> linspace(-150.0 / 331.0, 150.0 / 331.0, 11);
            case ROTATE -> linspace(-30, 30, 11);
            case SOLARIZE -> linspace(0, 256, 11);
            case POSTERIZE -> linspace(4, 8, 11);
            case CONTRAST, COLOR, BRIGHTNESS, SHARPNESS -> linspace(0.1, 1.9, 11);
            default -> throw new IllegalArgumentException(op + " has no magnitude");
        };
    }

    /** torchvision's _augmentation_space(10, (H, W)) entry k (float32 linspace, as torch computes it). */
    static double torchvisionMagnitude(Op op, int k, int width, int height) {
        return switch (op) {
            case SHEAR_X, SHEAR_Y -> torchLinspace(0.0f, 0.3f, k);
            case TRANSLATE_X -> torchLinspace(0.0f, (float) (150.0 / 331.0 * width), k);
            case TRANSLATE_Y -> torchLinspace(0.0f, (float) (150.0 / 331.0 * height), k);
            case ROTATE -> torchLinspace(0.0f, 30.0f, k);
            case BRIGHTNESS, COLOR, CONTRAST, SHARPNESS -> torchLinspace(0.0f, 0.9f, k);
            case POSTERIZE -> 8 - (int) Math.rint(k / (9 / 4.0));
            case SOLARIZE -> torchLinspace(255.0f, 0.0f, k);
            default -> 0.0;
        };
    }

    /** Element k of torch.linspace(lo, hi, 10) in float32 (torch fills the first half from lo, the second from hi). */
    private static double torchLinspace(float lo, float hi, int k) {
        int steps = 10;
        float step = (hi - lo) / (steps - 1);
        int half = steps / 2;
        return k < half ? lo + step * k : hi - step * (steps - k - 1);
    }

    public Image8 apply(Image8 im, Params p) {
        Step[] sub = policy.table()[p.subPolicy()];
        if (p.apply1()) im = applyOp(im, sub[0].op(), p.magnitude1());
        if (p.apply2()) im = applyOp(im, sub[1].op(), p.magnitude2());
        return im;
    }

    Image8 applyOp(Image8 im, Op op, double m) {
        return policy == Policy.DVP_CIFAR10 ? dvpOp(im, op, m) : torchvisionOp(im, op, m);
    }

    // ---- the DVP / 4uiiurz1 ops ----------------------------------------------------------------------

    static Image8 dvpOp(Image8 im, Op op, double m) {
        int h = im.height, w = im.width;
        return switch (op) {
            case SHEAR_X -> scipyAffine(im, new double[]{1, m, 0, 0, 1, 0});
            case SHEAR_Y -> scipyAffine(im, new double[]{1, 0, 0, m, 1, 0});
            case TRANSLATE_X -> scipyAffine(im, new double[]{1, 0, 0, 0, 1, w * m});
            case TRANSLATE_Y -> scipyAffine(im, new double[]{1, 0, h * m, 0, 1, 0});
            case ROTATE -> {
                double th = Math.toRadians(m);
                yield scipyAffine(im, new double[]{Math.cos(th), -Math.sin(th), 0, Math.sin(th), Math.cos(th), 0});
            }
            case AUTO_CONTRAST -> PilOps.autocontrast(im);
            case INVERT -> PilOps.invert(im);
            case EQUALIZE -> PilOps.equalize(im);
            case SOLARIZE -> PilOps.solarize(im, m);
            case POSTERIZE -> PilOps.posterize(im, (int) Math.rint(m));
            case CONTRAST -> ColorOps.contrast(im, m);
            case COLOR -> ColorOps.saturation(im, m);
            case BRIGHTNESS -> ColorOps.brightness(im, m);
            case SHARPNESS -> PilOps.sharpness(im, m);
        };
    }

    /**
     * 4uiiurz1's transform_matrix_offset_center then ndimage.affine_transform per channel; t is the
     * 2×3 (row, col) matrix {a, b, tx, c, d, ty}.
     */
    static Image8 scipyAffine(Image8 im, double[] t) {
        double ox = im.height / 2.0 + 0.5, oy = im.width / 2.0 + 0.5;
        // offset_matrix @ M @ reset_matrix, summed in numpy's matmul order
        double a = t[0], b = t[1], c = t[3], d = t[4];
        double r0 = a + 0 * c, r1 = b + 0 * d, r2 = t[2] + ox;
        double s0 = c, s1 = d, s2 = t[5] + oy;
        double off0 = r0 * -ox + r1 * -oy + r2;
        double off1 = s0 * -ox + s1 * -oy + s2;
        return Geometry.affineCubicSpline(im, new double[]{r0, r1, s0, s1}, new double[]{off0, off1});
    }

    // ---- the torchvision ops (PIL) -------------------------------------------------------------------

    static Image8 torchvisionOp(Image8 im, Op op, double m) {
        int w = im.width, h = im.height;
        return switch (op) {
            case SHEAR_X -> Geometry.affineNearest(im, inverseAffine(0, 0, 0, 0, 0, Math.toDegrees(Math.atan(m)), 0), 0);
            case SHEAR_Y -> Geometry.affineNearest(im, inverseAffine(0, 0, 0, 0, 0, 0, Math.toDegrees(Math.atan(m))), 0);
            case TRANSLATE_X -> Geometry.affineNearest(im, inverseAffine(w * 0.5, h * 0.5, 0, (int) m, 0, 0, 0), 0);
            case TRANSLATE_Y -> Geometry.affineNearest(im, inverseAffine(w * 0.5, h * 0.5, 0, 0, (int) m, 0, 0), 0);
            case ROTATE -> rotatePil(im, m);
            case AUTO_CONTRAST -> PilOps.autocontrast(im);
            case INVERT -> PilOps.invert(im);
            case EQUALIZE -> PilOps.equalize(im);
            case SOLARIZE -> PilOps.solarize(im, m);
            case POSTERIZE -> PilOps.posterize(im, (int) m);
            case CONTRAST -> ColorOps.contrast(im, 1.0 + m);
            case COLOR -> ColorOps.saturation(im, 1.0 + m);
            case BRIGHTNESS -> ColorOps.brightness(im, 1.0 + m);
            case SHARPNESS -> PilOps.sharpness(im, 1.0 + m);
        };
    }

    /** torchvision's _get_inverse_affine_matrix(center, angle, translate, scale = 1, shear) in degrees. */
    static double[] inverseAffine(double cx, double cy, double angle, double tx, double ty, double shearX, double shearY) {
        double rot = Math.toRadians(angle), sx = Math.toRadians(shearX), sy = Math.toRadians(shearY);
        double a = Math.cos(rot - sy) / Math.cos(sy);
        double b = -Math.cos(rot - sy) * Math.tan(sx) / Math.cos(sy) - Math.sin(rot);
        double c = Math.sin(rot - sy) / Math.cos(sy);
        double d = -Math.sin(rot - sy) * Math.tan(sx) / Math.cos(sy) + Math.cos(rot);
        double[] mtx = {d, -b, 0.0, -c, a, 0.0};
        mtx[2] += mtx[0] * (-cx - tx) + mtx[1] * (-cy - ty);
        mtx[5] += mtx[3] * (-cx - tx) + mtx[4] * (-cy - ty);
        mtx[2] += cx;
        mtx[5] += cy;
        return mtx;
    }

    /** PIL Image.rotate(angle, NEAREST, expand=False, fillcolor=0) about (w/2, h/2). */
    static Image8 rotatePil(Image8 im, double angle) {
        double ang = ((angle % 360.0) + 360.0) % 360.0;
        if (ang == 0) return im.copy();
        double r = -Math.toRadians(ang);
        double cx = im.width / 2.0, cy = im.height / 2.0;
        double[] m = {round15(Math.cos(r)), round15(Math.sin(r)), 0.0, round15(-Math.sin(r)), round15(Math.cos(r)), 0.0};
        double[] t = {m[0] * -cx + m[1] * -cy + m[2], m[3] * -cx + m[4] * -cy + m[5]};
        m[2] = t[0] + cx;
        m[5] = t[1] + cy;
        return Geometry.affineNearest(im, m, 0);
    }

    private static double round15(double v) {
        return new java.math.BigDecimal(v).setScale(15, java.math.RoundingMode.HALF_EVEN).doubleValue();
    }

    // ---- policies ------------------------------------------------------------------------------------

    private static Step s(Op op, double p, int k) { return new Step(op, p, k); }

    private static Step[] sub(Step a, Step b) { return new Step[]{a, b}; }

    /** CIFAR-10 policy (torchvision's table; the DVP copy differs only in a probability-0 step). */
    static final Step[][] CIFAR10 = {
            sub(s(Op.INVERT, 0.1, 7), s(Op.CONTRAST, 0.2, 6)),
            sub(s(Op.ROTATE, 0.7, 2), s(Op.TRANSLATE_X, 0.3, 9)),
            sub(s(Op.SHARPNESS, 0.8, 1), s(Op.SHARPNESS, 0.9, 3)),
            sub(s(Op.SHEAR_Y, 0.5, 8), s(Op.TRANSLATE_Y, 0.7, 9)),
            sub(s(Op.AUTO_CONTRAST, 0.5, 8), s(Op.EQUALIZE, 0.9, 2)),
            sub(s(Op.SHEAR_Y, 0.2, 7), s(Op.POSTERIZE, 0.3, 7)),
            sub(s(Op.COLOR, 0.4, 3), s(Op.BRIGHTNESS, 0.6, 7)),
            sub(s(Op.SHARPNESS, 0.3, 9), s(Op.BRIGHTNESS, 0.7, 9)),
            sub(s(Op.EQUALIZE, 0.6, 5), s(Op.EQUALIZE, 0.5, 1)),
            sub(s(Op.CONTRAST, 0.6, 7), s(Op.SHARPNESS, 0.6, 5)),
            sub(s(Op.COLOR, 0.7, 7), s(Op.TRANSLATE_X, 0.5, 8)),
            sub(s(Op.EQUALIZE, 0.3, 7), s(Op.AUTO_CONTRAST, 0.4, 8)),
            sub(s(Op.TRANSLATE_Y, 0.4, 3), s(Op.SHARPNESS, 0.2, 6)),
            sub(s(Op.BRIGHTNESS, 0.9, 6), s(Op.COLOR, 0.2, 8)),
            sub(s(Op.SOLARIZE, 0.5, 2), s(Op.INVERT, 0.0, 0)),
            sub(s(Op.EQUALIZE, 0.2, 0), s(Op.AUTO_CONTRAST, 0.6, 0)),
            sub(s(Op.EQUALIZE, 0.2, 8), s(Op.EQUALIZE, 0.6, 4)),
            sub(s(Op.COLOR, 0.9, 9), s(Op.EQUALIZE, 0.6, 6)),
            sub(s(Op.AUTO_CONTRAST, 0.8, 4), s(Op.SOLARIZE, 0.2, 8)),
            sub(s(Op.BRIGHTNESS, 0.1, 3), s(Op.COLOR, 0.7, 0)),
            sub(s(Op.SOLARIZE, 0.4, 5), s(Op.AUTO_CONTRAST, 0.9, 3)),
            sub(s(Op.TRANSLATE_Y, 0.9, 9), s(Op.TRANSLATE_Y, 0.7, 9)),
            sub(s(Op.AUTO_CONTRAST, 0.9, 2), s(Op.SOLARIZE, 0.8, 3)),
            sub(s(Op.EQUALIZE, 0.8, 8), s(Op.INVERT, 0.1, 3)),
            sub(s(Op.TRANSLATE_Y, 0.7, 9), s(Op.AUTO_CONTRAST, 0.9, 1)),
    };

    /** torchvision's ImageNet policy. */
    static final Step[][] IMAGENET = {
            sub(s(Op.POSTERIZE, 0.4, 8), s(Op.ROTATE, 0.6, 9)),
            sub(s(Op.SOLARIZE, 0.6, 5), s(Op.AUTO_CONTRAST, 0.6, 0)),
            sub(s(Op.EQUALIZE, 0.8, 0), s(Op.EQUALIZE, 0.6, 0)),
            sub(s(Op.POSTERIZE, 0.6, 7), s(Op.POSTERIZE, 0.6, 6)),
            sub(s(Op.EQUALIZE, 0.4, 0), s(Op.SOLARIZE, 0.2, 4)),
            sub(s(Op.EQUALIZE, 0.4, 0), s(Op.ROTATE, 0.8, 8)),
            sub(s(Op.SOLARIZE, 0.6, 3), s(Op.EQUALIZE, 0.6, 0)),
            sub(s(Op.POSTERIZE, 0.8, 5), s(Op.EQUALIZE, 1.0, 0)),
            sub(s(Op.ROTATE, 0.2, 3), s(Op.SOLARIZE, 0.6, 8)),
            sub(s(Op.EQUALIZE, 0.6, 0), s(Op.POSTERIZE, 0.4, 6)),
            sub(s(Op.ROTATE, 0.8, 8), s(Op.COLOR, 0.4, 0)),
            sub(s(Op.ROTATE, 0.4, 9), s(Op.EQUALIZE, 0.6, 0)),
            sub(s(Op.EQUALIZE, 0.0, 0), s(Op.EQUALIZE, 0.8, 0)),
            sub(s(Op.INVERT, 0.6, 0), s(Op.EQUALIZE, 1.0, 0)),
            sub(s(Op.COLOR, 0.6, 4), s(Op.CONTRAST, 1.0, 8)),
            sub(s(Op.ROTATE, 0.8, 8), s(Op.COLOR, 1.0, 2)),
            sub(s(Op.COLOR, 0.8, 8), s(Op.SOLARIZE, 0.8, 7)),
            sub(s(Op.SHARPNESS, 0.4, 7), s(Op.INVERT, 0.6, 0)),
            sub(s(Op.SHEAR_X, 0.6, 5), s(Op.EQUALIZE, 1.0, 0)),
            sub(s(Op.COLOR, 0.4, 0), s(Op.EQUALIZE, 0.6, 0)),
            sub(s(Op.EQUALIZE, 0.4, 0), s(Op.SOLARIZE, 0.2, 4)),
            sub(s(Op.SOLARIZE, 0.6, 5), s(Op.AUTO_CONTRAST, 0.6, 0)),
            sub(s(Op.INVERT, 0.6, 0), s(Op.EQUALIZE, 1.0, 0)),
            sub(s(Op.COLOR, 0.6, 4), s(Op.CONTRAST, 1.0, 8)),
            sub(s(Op.EQUALIZE, 0.8, 0), s(Op.EQUALIZE, 0.6, 0)),
    };
}
