package dvp.engine.cpu;

import dvp.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * Margin-InfoNCE (see {@link dvp.engine.spi.Backend#marginInfoNceForward}) as a flash-style
 * single pass: the queue is walked in tiles of {@link #TILE} keys; each row keeps a running max M,
 * a running sum S = Σ e^{z−M} and a running weighted key sum A = Σ e^{z−M}·key, rescaled when M
 * grows. The queue is read once per thread and no N×K buffer exists.
 *
 * <p>Determinism: each row belongs to one thread and is computed by the same sequence of
 * operations whatever the split (rows are independent; groups of rows only share loads), the
 * exponential is {@link #expNonPositive} (plain IEEE ops and FMAs, identical in every JIT tier
 * and in every lane), and the batch mean adds the rows in order.
 *
 * <p>Precision: logits are F32 FMA dot products (what PyTorch's GEMM computes); within a tile the
 * weights and weighted keys are F32, across tiles S and A accumulate in double.
 */
final class CpuContrastive {
    private static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    private static final int L = SP.length();
    /** Keys per tile: a multiple of every lane count (4..16), 2×64 KiB of tile buffers at d=128. */
    static final int TILE = 128;
    /** Row group sharing one pass over a tile's transposed keys (register blocking). */
    private static final int GROUP = 4;

    private CpuContrastive() {}

    static void forward(Tensor q, Tensor kPos, Tensor queue, float margin, float tau, Tensor loss, Tensor accuracy, Tensor dq) {
        // the fp32 reference: a bf16 autocast run is checked against it on the bf16-rounded values
        F32Only.check("marginInfoNceForward", q, kPos, queue, loss, accuracy, dq);
        int n = q.dim(0), d = q.dim(1), k = queue.dim(0);
        float[] qa = Mem.toArray(q), kp = Mem.toArray(kPos);
        MemorySegment qs = Mem.seg(queue);
        long qb = Mem.base(queue);
        double[] rowLoss = new double[n];
        boolean[] correct = new boolean[n];
        float[] grad = dq == null ? null : new float[n * d];
        double gradScale = 1.0 / ((double) n * tau);

        Parallel.range(n, GROUP, (lo, hi) -> {
            int rows = hi - lo;
            float[] tile = new float[TILE * d], tileT = new float[d * TILE];
            float[] z = new float[GROUP * TILE], wAcc = new float[GROUP * d];
            float[] runMax = new float[rows], queueMax = new float[rows], z0 = new float[rows];
            double[] sum = new double[rows];
            double[] acc = grad == null ? null : new double[rows * d];
            for (int r = 0; r < rows; r++) {
                int i = lo + r;
                z0[r] = (dot(qa, i * d, kp, i * d, d) - margin) / tau;
                runMax[r] = z0[r];
                sum[r] = 1.0; // e^{z0 - M} with M = z0
                queueMax[r] = Float.NEGATIVE_INFINITY;
            }
            for (int j0 = 0; j0 < k; j0 += TILE) {
                int valid = Math.min(TILE, k - j0);
                loadTile(qs, qb, j0, valid, d, tile, tileT);
                for (int r0 = 0; r0 < rows; r0 += GROUP) {
                    int g = Math.min(GROUP, rows - r0);
                    logits(qa, (lo + r0) * d, g, d, tileT, tau, valid, z);
                    for (int gi = 0; gi < g; gi++) {
                        int r = r0 + gi, zo = gi * TILE;
                        float tmax = tileMax(z, zo);
                        queueMax[r] = Math.max(queueMax[r], tmax);
                        if (tmax > runMax[r]) {
                            double shrink = StrictMath.exp((double) runMax[r] - tmax);
                            sum[r] *= shrink;
                            if (acc != null) for (int c = 0; c < d; c++) acc[r * d + c] *= shrink;
                            runMax[r] = tmax;
                        }
                        sum[r] += weights(z, zo, runMax[r]); // z[zo..zo+TILE) := e^{z - M}
                    }
                    if (acc != null) {
                        weightedKeys(z, g, valid, tile, d, wAcc);
                        for (int x = 0; x < g * d; x++) acc[r0 * d + x] += wAcc[x];
                    }
                }
            }
            for (int r = 0; r < rows; r++) {
                int i = lo + r;
                double lse = runMax[r] + StrictMath.log(sum[r]);
                rowLoss[i] = lse - z0[r];
                correct[i] = z0[r] >= queueMax[r];
                if (grad != null) {
                    double p0 = StrictMath.exp(z0[r] - lse), inv = 1.0 / sum[r];
                    for (int c = 0; c < d; c++)
                        grad[i * d + c] = (float) (gradScale * ((p0 - 1) * kp[i * d + c] + acc[r * d + c] * inv));
                }
            }
        });

        double total = 0;
        int hits = 0;
        for (int i = 0; i < n; i++) {
            total += rowLoss[i];
            if (correct[i]) hits++;
        }
        Mem.seg(loss).set(Mem.F, Mem.base(loss), (float) (total / n));
        Mem.seg(accuracy).set(Mem.F, Mem.base(accuracy), (float) ((double) hits / n));
        if (grad != null) Mem.write(grad, 0, dq, 0, grad.length);
    }

    /** Keys [j0, j0+valid) into tile (row-major, TILE×d) and tileT (d×TILE); missing keys are 0. */
    private static void loadTile(MemorySegment qs, long qb, int j0, int valid, int d, float[] tile, float[] tileT) {
        MemorySegment.copy(qs, Mem.F, qb + 4L * j0 * d, tile, 0, valid * d);
        if (valid < TILE) java.util.Arrays.fill(tile, valid * d, TILE * d, 0f);
        for (int j = 0; j < TILE; j++)
            for (int c = 0; c < d; c++) tileT[c * TILE + j] = tile[j * d + c];
    }

    /**
     * z[gi*TILE + j] = (q_{row0+gi} · key_j) / tau for g ≤ GROUP rows; keys past 'valid' get -inf.
     * One accumulator per (row, lane block of keys), FMAs in ascending c: every row's values are
     * the same whichever group it is computed in (full groups only share the loads).
     */
    private static void logits(float[] qa, int qo, int g, int d, float[] tileT, float tau, int valid, float[] z) {
        if (g == GROUP) {
            int q1 = qo + d, q2 = qo + 2 * d, q3 = qo + 3 * d;
            for (int v = 0; v < TILE; v += 2 * L) {
                FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int c = 0; c < d; c++) {
                    FloatVector ka = FloatVector.fromArray(SP, tileT, c * TILE + v);
                    FloatVector kb = FloatVector.fromArray(SP, tileT, c * TILE + v + L);
                    FloatVector x0 = FloatVector.broadcast(SP, qa[qo + c]), x1 = FloatVector.broadcast(SP, qa[q1 + c]);
                    FloatVector x2 = FloatVector.broadcast(SP, qa[q2 + c]), x3 = FloatVector.broadcast(SP, qa[q3 + c]);
                    a0 = ka.fma(x0, a0); b0 = kb.fma(x0, b0);
                    a1 = ka.fma(x1, a1); b1 = kb.fma(x1, b1);
                    a2 = ka.fma(x2, a2); b2 = kb.fma(x2, b2);
                    a3 = ka.fma(x3, a3); b3 = kb.fma(x3, b3);
                }
                a0.div(tau).intoArray(z, v); b0.div(tau).intoArray(z, v + L);
                a1.div(tau).intoArray(z, TILE + v); b1.div(tau).intoArray(z, TILE + v + L);
                a2.div(tau).intoArray(z, 2 * TILE + v); b2.div(tau).intoArray(z, 2 * TILE + v + L);
                a3.div(tau).intoArray(z, 3 * TILE + v); b3.div(tau).intoArray(z, 3 * TILE + v + L);
            }
        } else {
            for (int gi = 0; gi < g; gi++) {
                int qi = qo + gi * d;
                for (int v = 0; v < TILE; v += L) {
                    FloatVector a = FloatVector.zero(SP);
                    for (int c = 0; c < d; c++)
                        a = FloatVector.fromArray(SP, tileT, c * TILE + v).fma(FloatVector.broadcast(SP, qa[qi + c]), a);
                    a.div(tau).intoArray(z, gi * TILE + v);
                }
            }
        }
        if (valid < TILE)
            for (int gi = 0; gi < g; gi++) java.util.Arrays.fill(z, gi * TILE + valid, (gi + 1) * TILE, Float.NEGATIVE_INFINITY);
    }

    /**
     * max of z[zo..zo+TILE) (padding lanes hold -inf); NaN if any is NaN. A max is exact, so the
     * lane-wise then across-lanes order gives the same value as a sequential scan.
     */
    private static float tileMax(float[] z, int zo) {
        FloatVector m = FloatVector.fromArray(SP, z, zo);
        for (int v = L; v < TILE; v += L) m = m.max(FloatVector.fromArray(SP, z, zo + v));
        return m.reduceLanes(VectorOperators.MAX);
    }

    /** z[zo..zo+TILE) := e^{z - max} in place; returns their sum (16 logical lanes, the same bits on every vector width). */
    private static float weights(float[] z, int zo, float max) {
        for (int v = 0; v < TILE; v += L)
            expNonPositive(FloatVector.fromArray(SP, z, zo + v).sub(max)).intoArray(z, zo + v);
        return Lanes16.sum(z, zo, TILE);
    }

    /**
     * out[gi*d + c] = Σ_{j<valid} w[gi*TILE + j]·tile[j, c] for g ≤ GROUP rows, keys in ascending
     * order (F32 FMAs, one chain per (row, c)): the same bits whichever group a row is in.
     */
    private static void weightedKeys(float[] w, int g, int valid, float[] tile, int d, float[] out) {
        int c = 0;
        if (g == GROUP) {
            int w1 = TILE, w2 = 2 * TILE, w3 = 3 * TILE;
            for (; c + 2 * L <= d; c += 2 * L) {
                FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int j = 0; j < valid; j++) {
                    FloatVector ka = FloatVector.fromArray(SP, tile, j * d + c);
                    FloatVector kb = FloatVector.fromArray(SP, tile, j * d + c + L);
                    FloatVector x0 = FloatVector.broadcast(SP, w[j]), x1 = FloatVector.broadcast(SP, w[w1 + j]);
                    FloatVector x2 = FloatVector.broadcast(SP, w[w2 + j]), x3 = FloatVector.broadcast(SP, w[w3 + j]);
                    a0 = ka.fma(x0, a0); b0 = kb.fma(x0, b0);
                    a1 = ka.fma(x1, a1); b1 = kb.fma(x1, b1);
                    a2 = ka.fma(x2, a2); b2 = kb.fma(x2, b2);
                    a3 = ka.fma(x3, a3); b3 = kb.fma(x3, b3);
                }
                a0.intoArray(out, c); b0.intoArray(out, c + L);
                a1.intoArray(out, d + c); b1.intoArray(out, d + c + L);
                a2.intoArray(out, 2 * d + c); b2.intoArray(out, 2 * d + c + L);
                a3.intoArray(out, 3 * d + c); b3.intoArray(out, 3 * d + c + L);
            }
        }
        for (int gi = 0; gi < g; gi++) {
            int wo = gi * TILE, oo = gi * d;
            int cc = c;
            for (; cc + L <= d; cc += L) {
                FloatVector a = FloatVector.zero(SP);
                for (int j = 0; j < valid; j++)
                    a = FloatVector.fromArray(SP, tile, j * d + cc).fma(FloatVector.broadcast(SP, w[wo + j]), a);
                a.intoArray(out, oo + cc);
            }
            for (; cc < d; cc++) {
                float a = 0;
                for (int j = 0; j < valid; j++) a = Math.fma(tile[j * d + cc], w[wo + j], a);
                out[oo + cc] = a;
            }
        }
    }

    /** Σ a[ao+c]·b[bo+c], c ascending, as F32 FMAs (the same arithmetic as one lane of {@link #logits}). */
    private static float dot(float[] a, int ao, float[] b, int bo, int d) {
        float s = 0;
        for (int c = 0; c < d; c++) s = Math.fma(b[bo + c], a[ao + c], s);
        return s;
    }

    // ---- e^x for x ≤ 0 -----------------------------------------------------------------------------

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;      // few mantissa bits: n·LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;   // ln 2 − LN2_HI
    private static final float ROUNDER = 12582912f;        // 1.5·2^23: adding it rounds to an integer
    private static final float UNDERFLOW = -87.0f;         // below: e^x < 1.7e-38, returned as 0

    /**
     * e^x for x ≤ 0 in F32, within 2 ulp (checked against Math.exp over [-87, 0] in the tests):
     * x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite), e^r by its degree-7 Taylor polynomial
     * (truncation < 6e-9 relative), 2^n built in the exponent bits. x < -87 gives 0, NaN gives
     * NaN. Only IEEE add/mul/FMA: the same bits in the interpreter, in C2 and in every lane,
     * which a library exp (SVML in C2, a Java fallback before) would not guarantee.
     */
    static FloatVector expNonPositive(FloatVector x) {
        FloatVector t = x.fma(V_LOG2E, V_ROUNDER);            // ROUNDER + round(x·log2 e)
        FloatVector nf = t.sub(V_ROUNDER);
        FloatVector r = nf.fma(V_NEG_LN2_HI, x);
        r = nf.fma(V_NEG_LN2_LO, r);
        FloatVector p = V_C7;
        p = p.fma(r, V_C6);
        p = p.fma(r, V_C5);
        p = p.fma(r, V_C4);
        p = p.fma(r, V_C3);
        p = p.fma(r, V_C2);
        p = p.fma(r, V_ONE);
        p = p.fma(r, V_ONE);
        IntVector n = (IntVector) t.reinterpretAsInts();
        n = n.sub(Float.floatToRawIntBits(ROUNDER)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scale = (FloatVector) n.reinterpretAsFloats();
        return p.mul(scale).blend(0f, x.compare(VectorOperators.LT, UNDERFLOW));
    }

    /** The scalar twin of {@link #expNonPositive} (same operations, same bits as a lane). */
    static float expNonPositive(float x) {
        float t = Math.fma(x, LOG2E, ROUNDER);
        float nf = t - ROUNDER;
        float r = Math.fma(nf, -LN2_HI, x);
        r = Math.fma(nf, -LN2_LO, r);
        float p = 1f / 5040f;
        p = Math.fma(p, r, 1f / 720f);
        p = Math.fma(p, r, 1f / 120f);
        p = Math.fma(p, r, 1f / 24f);
        p = Math.fma(p, r, 1f / 6f);
        p = Math.fma(p, r, 0.5f);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        int n = Float.floatToRawIntBits(t) - Float.floatToRawIntBits(ROUNDER);
        float scale = Float.intBitsToFloat((n + 127) << 23);
        return x < UNDERFLOW ? 0f : p * scale;
    }

    private static final FloatVector V_LOG2E = FloatVector.broadcast(SP, LOG2E);
    private static final FloatVector V_ROUNDER = FloatVector.broadcast(SP, ROUNDER);
    private static final FloatVector V_NEG_LN2_HI = FloatVector.broadcast(SP, -LN2_HI);
    private static final FloatVector V_NEG_LN2_LO = FloatVector.broadcast(SP, -LN2_LO);
    private static final FloatVector V_C7 = FloatVector.broadcast(SP, 1f / 5040f);
    private static final FloatVector V_C6 = FloatVector.broadcast(SP, 1f / 720f);
    private static final FloatVector V_C5 = FloatVector.broadcast(SP, 1f / 120f);
    private static final FloatVector V_C4 = FloatVector.broadcast(SP, 1f / 24f);
    private static final FloatVector V_C3 = FloatVector.broadcast(SP, 1f / 6f);
    private static final FloatVector V_C2 = FloatVector.broadcast(SP, 0.5f);
    private static final FloatVector V_ONE = FloatVector.broadcast(SP, 1f);
}
