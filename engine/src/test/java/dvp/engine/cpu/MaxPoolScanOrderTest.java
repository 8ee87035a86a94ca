package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.PoolSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The CPU max pool (separable, vectorised) against a plain window scan in row-major order, bit for
 * bit: values and argmax, on data full of ties, NaNs, signed zeros and infinities, at widths that hit
 * the vector paths (wider than a vector, with overlapping last chunks) and the scalar ones.
 */
class MaxPoolScanOrderTest {
    private Scope scope;
    private final Backend be = cpu();

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /** The definition: the first maximum in scan order wins; a NaN wins (the last NaN). */
    private static void reference(float[] in, int planes, int h, int w, PoolSpec p, float[] out, int[] arg) {
        int ho = p.out(h), wo = p.out(w), k = p.kernel(), s = p.stride(), pad = p.pad();
        for (int pl = 0; pl < planes; pl++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    int best = -1;
                    for (int iy = oy * s - pad; iy < oy * s - pad + k; iy++)
                        for (int ix = ox * s - pad; ix < ox * s - pad + k; ix++) {
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            int i = iy * w + ix;
                            float v = in[pl * h * w + i];
                            if (best < 0 || v > in[pl * h * w + best] || Float.isNaN(v)) best = i;
                        }
                    out[(pl * ho + oy) * wo + ox] = in[pl * h * w + best];
                    arg[(pl * ho + oy) * wo + ox] = best;
                }
    }

    private void check(int n, int c, int h, int w, PoolSpec p, float[] data) {
        int ho = p.out(h), wo = p.out(w);
        float[] want = new float[n * c * ho * wo];
        int[] wantArg = new int[want.length];
        reference(data, n * c, h, w, p, want, wantArg);
        Tensor x = Tensor.of(be, data, n, c, h, w);
        for (int pieces : new int[]{1, 3}) {
            Tensor y = Tensor.empty(be, DType.F32, n, c, ho, wo);
            Tensor a = Tensor.empty(be, DType.I32, n, c, ho, wo);
            Parallel.withSplit(pieces, () -> be.maxPool2dForward(x, y, a, p));
            String what = "max_pool2d " + p + " on [" + n + "," + c + "," + h + "," + w + "], " + pieces + " pieces";
            float[] got = y.toFloatArray();
            for (int i = 0; i < want.length; i++)
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), what + ": value " + i);
            assertArrayEquals(wantArg, ints(a), what + ": argmax");
        }
    }

    private int[] ints(Tensor t) {
        int[] out = new int[(int) t.numel()];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * out.length, 8);
            be.copyToHost(t, seg);
            MemorySegment.copy(seg, ValueLayout.JAVA_INT, 0, out, 0, out.length);
        }
        return out;
    }

    /** Few distinct values (many ties), with NaNs, -0.0/0.0 and infinities sprinkled in. */
    private static float[] tricky(Rng rng, int n) {
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f, -1f};
        float[] u = rng.uniformArray(n, 0, 1);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            int pick = (int) (u[i] * 1000);
            v[i] = pick < 20 ? special[pick % special.length] : (pick % 4) - 1.5f;
        }
        return v;
    }

    @Test void matchesTheWindowScanBitForBit() {
        Rng rng = new Rng(11);
        int[][] sizes = {{7, 5}, {13, 40}, {56, 56}, {9, 33}, {4, 17}, {30, 64}};
        for (int[] hw : sizes)
            for (int k = 1; k <= 5; k++)
                for (int s = 1; s <= 3; s++)
                    for (int pad = 0; pad <= k / 2; pad++) {
                        if (hw[0] + 2 * pad < k || hw[1] + 2 * pad < k) continue;
                        check(2, 3, hw[0], hw[1], new PoolSpec(k, s, pad), tricky(rng, 6 * hw[0] * hw[1]));
                    }
    }

    @Test void matchesTheWindowScanOnGaussianDataAtTheResNetStemShape() {
        Rng rng = new Rng(12);
        check(2, 8, 56, 56, new PoolSpec(3, 2, 1), rng.normal(16 * 56 * 56, 0, 1));
    }
}
