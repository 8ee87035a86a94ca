package dvp.training.data.image;

/**
 * The cubic B-spline prefilter of {@code scipy.ndimage.spline_filter} with mirror boundaries
 * (what {@code affine_transform(..., mode='constant')} prefilters with): interpolating
 * coefficients c such that sampling the cubic B-spline at integer points gives back the input.
 * One causal and one anti-causal recursive pass with pole z = √3 − 2 per axis (Unser 1993), rows
 * after columns as scipy iterates axes 0 then 1.
 */
final class SplinePrefilter {
    private static final double Z = Math.sqrt(3.0) - 2.0;

    private SplinePrefilter() {}

    /** Filters a row-major h×w array of doubles in place along axis 0 then axis 1. */
    static void cubicMirror2d(double[] a, int h, int w) {
        double[] line = new double[Math.max(h, w)];
        if (h > 1) {
            for (int x = 0; x < w; x++) {
                for (int y = 0; y < h; y++) line[y] = a[y * w + x];
                filter(line, h);
                for (int y = 0; y < h; y++) a[y * w + x] = line[y];
            }
        }
        if (w > 1) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(a, y * w, line, 0, w);
                filter(line, w);
                System.arraycopy(line, 0, a, y * w, w);
            }
        }
    }

    static void filter(double[] c, int n) {
        double z = Z;
        double lambda = (1 - z) * (1 - 1 / z);
        for (int i = 0; i < n; i++) c[i] *= lambda;
        // causal initialisation for a mirror-symmetric extension
        double zi = z;
        double zn1 = Math.pow(z, n - 1);
        c[0] = c[0] + zn1 * c[n - 1];
        for (int i = 1; i < n - 1; i++) {
            c[0] += zi * (c[i] + zn1 * c[n - 1 - i]);
            zi *= z;
        }
        c[0] /= 1 - zn1 * zn1;
        for (int i = 1; i < n; i++) c[i] += z * c[i - 1];
        c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1);
        for (int i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1] - c[i]);
    }
}
