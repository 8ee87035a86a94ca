package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Single-precision GEMM, C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, in the GotoBLAS/BLIS
 * structure: op(A) and op(B) are packed into MR-row and NR-column panels, and a register-blocked
 * microkernel ({@link SgemmKernels}) computes MR x NR tiles with vector FMAs.
 *
 * <p>Operands are {@link PackA}/{@link PackB} sources, so convolution can pack im2col panels straight
 * from an image ({@link CpuConv}) instead of materialising the column matrix; dense matrices use
 * {@link View}. C is a {@link View} with unit column stride.
 *
 * <p><b>Determinism.</b> The depth dimension is cut into equal chunks of at most {@link #KC_MAX} (see
 * {@link #depthChunk}), a function of K alone. Within a chunk each C element is an in-order fma chain.
 * The first chunk's sum is stored (times alpha, plus beta*C when beta != 0); with alpha = 1 later chunks
 * continue each element's chain from C, otherwise their sums times alpha are added to C, in chunk order. The tile grid (row panels of {@code mr}, column panels of {@link #NR}) depends
 * only on M and N. Threads only decide <i>who</i> computes a tile, never how, so results are
 * bit-identical whatever the thread count. With beta == 0, C's previous contents (even NaN) are ignored.
 */
public final class Sgemm {
    static final VectorSpecies<Float> S = SgemmKernels.S;
    static final int L = SgemmKernels.L;
    /** Columns per B panel (two vectors). */
    static final int NR = SgemmKernels.NR;
    /**
     * Longest depth chunk. Long chunks win here (measured: 1024 beat 320 by 1.3-1.6x on 1024^3 and on
     * ResNet conv shapes): every chunk after the first costs a read-modify-write of C, while streaming
     * a longer A panel from L2 costs little.
     */
    static final int KC_MAX = 1024;
    /** Most columns of op(B) packed per block (kc x NC floats stay in L2 while every A panel sweeps over it). */
    static final int NC = 16 * NR;
    /** Budget (floats) for the C block a task revisits once per depth chunk: it should stay in L2. */
    static final int C_BLOCK = 96 * 1024;
    /** Budget (floats) for the packed B block every A panel of a task sweeps over. */
    static final int B_BLOCK = 96 * 1024;
    /** Rows of op(A) packed per slab when op(A) is too big to pack once (bounds the per-thread workspace). */
    static final int MC = 1536;
    /** Largest op(A) (floats) packed once up front and shared by all tasks. */
    static final long SHARED_A_MAX = 1L << 22;
    /** Multiply-adds up to which a dense GEMM skips packing ({@link #tiny}). */
    static final long TINY = 4096;
    /**
     * What packing one element costs, in microkernel multiply-adds (a lane of an fma), for choosing how
     * to split a GEMM between tasks: packing is memory-bound copying at roughly 0.3-2 ns an element,
     * against ~0.03 ns a multiply-add in the kernel (measured on the 2.5 GHz AVX-512 Xeon; im2col and
     * im2row panels are at the slow end).
     */
    static final long PACK_COST = 16;
    /** Work below which a GEMM runs on the calling thread only (a fork costs tens of microseconds). */
    static final long MIN_FLOPS_PER_TASK = 1L << 22;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder NO = ByteOrder.nativeOrder();
    /** Row-panel heights available for this vector width, best first: 24 accumulators need 32 registers. */
    private static final int[] MR_CHOICES = L >= 16 ? new int[]{12, 8, 4} : new int[]{6, 4, 2};
    /** Relative kernel throughput used to pick a panel height (smaller panels reload B more often). */
    private static final double[] MR_EFFICIENCY = {1.0, 0.93, 0.75};

    private Sgemm() {}

    /**
     * A float matrix in a segment: element (r, c) lives at element index
     * {@code off + r*rowStride + (c / blockCols)*blockStride + (c % blockCols)*colStride}. The column
     * blocks let one view span several images (batched conv GEMMs: columns = image x position).
     */
    public record View(MemorySegment seg, long off, long rowStride, long colStride, int blockCols, long blockStride) {
        /** A plain row-major matrix with leading dimension ld. */
        public static View rowMajor(MemorySegment seg, long off, int ld) { return new View(seg, off, ld, 1, Integer.MAX_VALUE, 0); }

        public static View rowMajor(float[] a, int off, int ld) { return rowMajor(MemorySegment.ofArray(a), off, ld); }

        /** Rows of `cols` contiguous floats (stride rowStride) in blocks that repeat every blockStride. */
        public static View batched(MemorySegment seg, long off, long rowStride, int blockCols, long blockStride) {
            return new View(seg, off, rowStride, 1, blockCols, blockStride);
        }

        /** The same memory read as the transpose (only for views without column blocks). */
        public View transposed() {
            if (blockCols != Integer.MAX_VALUE) throw new IllegalStateException("sgemm: cannot transpose a batched view");
            return new View(seg, off, colStride, rowStride, Integer.MAX_VALUE, 0);
        }

        /** Element index of column c relative to the start of a row. */
        long colIndex(int c) {
            return blockCols == Integer.MAX_VALUE ? c * colStride : (long) (c / blockCols) * blockStride + (long) (c % blockCols) * colStride;
        }
    }

    /** Packs op(A) rows [i0, i0+rows) x depth [k0, k0+kc) as one panel dst[off + kk*mr + r]; rows..mr-1 zero. */
    @FunctionalInterface
    public interface PackA {
        void pack(int i0, int rows, int k0, int kc, int mr, float[] dst, int off);
    }

    /** Packs op(B) depth [k0, k0+kc) x columns [j0, j0+cols) as one panel dst[off + kk*NR + c]; cols..NR-1 zero. */
    @FunctionalInterface
    public interface PackB {
        void pack(int k0, int kc, int j0, int cols, float[] dst, int off);
    }

    // ---- entry points ---------------------------------------------------------------------------------

    /** Dense row-major GEMM on heap arrays (leading dimensions in elements). */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float beta, float[] c, int cOff, int ldc) {
        View va = View.rowMajor(a, aOff, lda), vb = View.rowMajor(b, bOff, ldb);
        gemm(m, n, k, alpha, transA ? va.transposed() : va, transB ? vb.transposed() : vb, beta, View.rowMajor(c, cOff, ldc));
    }

    /** C = alpha * A @ B + beta * C where the views already describe op(A) [M,K] and op(B) [K,N]. */
    public static void gemm(int m, int n, int k, float alpha, View a, View b, float beta, View c) {
        if ((long) m * n * k <= TINY && k > 0 && c.colStride() == 1) tiny(m, n, k, alpha, a, b, beta, c);
        else gemm(m, n, k, alpha, packerA(a), packerB(b), beta, c, Parallel.threads());
    }

    /**
     * Products too small to repay packing (a few thousand multiply-adds): a direct loop, each element
     * an in-order fma chain over k (the choice of path depends on the shape only).
     */
    private static void tiny(int m, int n, int k, float alpha, View a, View b, float beta, View c) {
        MemorySegment sa = a.seg(), sb = b.seg(), sc = c.seg();
        for (int i = 0; i < m; i++) {
            long aRow = a.off() + (long) i * a.rowStride(), cRow = c.off() + (long) i * c.rowStride();
            for (int j = 0; j < n; j++) {
                long bCol = b.off() + b.colIndex(j);
                float acc = 0f;
                for (int p = 0; p < k; p++)
                    acc = Math.fma(sa.get(F, (aRow + a.colIndex(p)) * 4), sb.get(F, (bCol + (long) p * b.rowStride()) * 4), acc);
                long at = (cRow + c.colIndex(j)) * 4;
                float v = alpha * acc;
                sc.set(F, at, beta == 0f ? v : v + beta * sc.get(F, at));
            }
        }
    }

    /**
     * The general form. {@code tasks} is how many pieces the tile grid is cut into (the thread count
     * in production; tests vary it to prove results do not depend on it).
     */
    public static void gemm(int m, int n, int k, float alpha, PackA a, PackB b, float beta, View c, int tasks) {
        if (m <= 0 || n <= 0) return;
        if (c.colStride() != 1) throw new IllegalArgumentException("sgemm: C needs unit column stride");
        if (k <= 0) {
            scaleC(m, n, beta, c);
            return;
        }
        int mr = chooseMr(m);
        int rowPanels = ceilDiv(m, mr), colPanels = ceilDiv(n, NR);
        long flops = 2L * m * n * k;
        int t = (int) Math.max(1, Math.min(tasks, flops / MIN_FLOPS_PER_TASK));
        // Split the panel grid into tm x tn rectangles; prefer cutting the dimension with more panels.
        int tm = 1, tn = 1;
        if (t > 1) {
            long best = Long.MAX_VALUE;
            for (int cand = 1; cand <= t; cand++) {
                if (t % cand != 0) continue;
                int cm = cand, cn = t / cand;
                if (cm > rowPanels || cn > colPanels) continue;
                // largest rectangle (in multiply-adds per depth step) plus the packing each split duplicates:
                // every row band packs all of its columns of op(B); every column band packs its rows of
                // op(A) unless op(A) is packed once up front
                long work = (long) ceilDiv(rowPanels, cm) * ceilDiv(colPanels, cn) * mr * NR;
                long dup = (long) (cm - 1) * n + (sharesA(m, k) ? 0 : (long) (cn - 1) * m);
                long cost = work + PACK_COST * dup;
                if (cost < best) { best = cost; tm = cm; tn = cn; }
            }
        }
        // op(A) packed once for all tasks when it is not huge (weights, activations of small layers);
        // otherwise each task packs MC-row slabs per depth chunk.
        float[] shared = null;
        int mPad = rowPanels * mr;
        if (sharesA(m, k)) {
            float[] ap = shared = Scratch.get(Scratch.SGEMM_A, (long) mPad * k);
            Parallel.range(rowPanels, Math.max(1, (1 << 15) / (mr * k)), (lo, hi) -> {
                for (int p = lo; p < hi; p++)
                    for (int pc = 0, step = depthChunk(k); pc < k; pc += step) {
                        int kc = Math.min(step, k - pc);
                        a.pack(p * mr, Math.min(mr, m - p * mr), pc, kc, mr, ap, pc * mPad + p * mr * kc);
                    }
            });
        }
        final int ftm = tm, ftn = tn;
        final float[] sharedA = shared;
        Parallel.range(tm * tn, 1, (lo, hi) -> {
            for (int task = lo; task < hi; task++) {
                int ti = task / ftn, tj = task % ftn;
                int p0 = (int) ((long) rowPanels * ti / ftm), p1 = (int) ((long) rowPanels * (ti + 1) / ftm);
                int q0 = (int) ((long) colPanels * tj / ftn), q1 = (int) ((long) colPanels * (tj + 1) / ftn);
                if (p0 < p1 && q0 < q1)
                    computeBlock(m, n, k, mr, alpha, a, sharedA, b, beta, c, p0, p1, q0 * NR, Math.min(n, q1 * NR));
            }
        });
    }

    // ---- the blocked loop nest of one task --------------------------------------------------------------

    private static final class Workspace {
        float[] a = new float[0], b = new float[0];
        /** The kernels' tile (row r at r*NR): C's tile is copied in before an acc kernel and out after every kernel. */
        final float[] tile = new float[SgemmKernels.MAX_MR * NR];

        float[] a(int size) { return a.length >= size ? a : (a = new float[size]); }

        float[] b(int size) { return b.length >= size ? b : (b = new float[size]); }
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    /**
     * Computes C row panels [p0, p1) x columns [nLo, nHi) (nLo panel-aligned) on the calling thread:
     * for each NC column block, for each depth chunk, pack the B block (kept in L2) and sweep every
     * A panel over it; the C block stays cache-resident across depth chunks. sharedA, when non-null,
     * holds all of op(A) packed (chunk pc at pc*mPad, panel p at + p*mr*kc).
     */
    private static void computeBlock(int m, int n, int k, int mr, float alpha, PackA pa, float[] sharedA, PackB pb,
                                     float beta, View c, int p0, int p1, int nLo, int nHi) {
        Workspace ws = WORKSPACE.get();
        float[] tile = ws.tile;
        int mPad = ceilDiv(m, mr) * mr, slabPanels = MC / mr;
        // column block: the C block (rows x cols) and the B block (kc x cols) should both stay in L2
        int blockCols = (int) Math.min((long) C_BLOCK / ((long) (p1 - p0) * mr), (long) B_BLOCK / depthChunk(k));
        blockCols = Math.clamp(blockCols / NR * NR, 2 * NR, NC);
        for (int jc = nLo; jc < nHi; jc += blockCols) {
            int nc = Math.min(blockCols, nHi - jc), bPanels = ceilDiv(nc, NR);
            for (int pc = 0, step = depthChunk(k); pc < k; pc += step) {
                int kc = Math.min(step, k - pc);
                boolean first = pc == 0;
                float[] bp = ws.b(bPanels * NR * kc);
                for (int q = 0; q < bPanels; q++) {
                    int j0 = jc + q * NR;
                    pb.pack(pc, kc, j0, Math.min(NR, n - j0), bp, q * NR * kc);
                }
                for (int s0 = p0; s0 < p1; s0 += slabPanels) {
                    int s1 = Math.min(p1, s0 + slabPanels);
                    float[] ap;
                    int aBase;
                    if (sharedA != null) {
                        ap = sharedA;
                        aBase = pc * mPad;
                    } else {
                        ap = ws.a((s1 - s0) * mr * kc);
                        aBase = -s0 * mr * kc;
                        for (int p = s0; p < s1; p++) pa.pack(p * mr, Math.min(mr, m - p * mr), pc, kc, mr, ap, (p - s0) * mr * kc);
                    }
                    for (int p = s0; p < s1; p++) {
                        int i0 = p * mr, rows = Math.min(mr, m - i0);
                        for (int q = 0; q < bPanels; q++) {
                            int j0 = jc + q * NR, cols = Math.min(NR, n - j0);
                            int nv = cols <= L ? 1 : 2;
                            int ao = aBase + p * mr * kc, bo = q * NR * kc;
                            boolean whole = rows == mr && cols == nv * L
                                    && (c.blockCols() == Integer.MAX_VALUE || j0 % c.blockCols() + cols <= c.blockCols());
                            long cAt = (c.off() + (long) i0 * c.rowStride() + c.colIndex(j0)) * 4, ld = c.rowStride() * 4;
                            if (alpha == 1f && (!first || beta == 0f)) {
                                // C = chunk sum (first chunk) or C + chunk products (later chunks): the kernel
                                // continues each element's fma chain from C's value
                                if (!first) {
                                    if (whole) wholeTileFromC(tile, mr, nv, c.seg(), cAt, ld);
                                    else tileFromC(tile, rows, cols, c, i0, j0);
                                }
                                SgemmKernels.run(mr, nv, !first, ap, ao, mr, bp, bo, kc, tile);
                                if (whole) wholeTileToC(tile, mr, nv, c.seg(), cAt, ld);
                                else storeTile(tile, rows, cols, c, i0, j0, 1f, 0f, true);
                            } else {
                                SgemmKernels.run(mr, nv, false, ap, ao, mr, bp, bo, kc, tile);
                                storeTile(tile, rows, cols, c, i0, j0, alpha, beta, first);
                            }
                        }
                    }
                }
            }
        }
    }

    /** C's whole tile (rows of nv vectors at byte cAt + r*ld) into the kernel tile. */
    private static void wholeTileFromC(float[] t, int mr, int nv, MemorySegment c, long cAt, long ld) {
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) FloatVector.fromMemorySegment(S, c, cAt + r * ld + 4L * v * L, NO).intoArray(t, r * NR + v * L);
    }

    /** The kernel tile into C's whole tile. */
    private static void wholeTileToC(float[] t, int mr, int nv, MemorySegment c, long cAt, long ld) {
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) FloatVector.fromArray(S, t, r * NR + v * L).intoMemorySegment(c, cAt + r * ld + 4L * v * L, NO);
    }

    /** Writes a kernel tile (rows of NR floats) into C: first depth chunk C = alpha*t + beta*C (beta == 0: alpha*t), later C += alpha*t. */
    private static void storeTile(float[] t, int rows, int cols, View c, int i0, int j0, float alpha, float beta, boolean first) {
        MemorySegment seg = c.seg();
        for (int r = 0; r < rows; r++) {
            long rowAt = c.off() + (long) (i0 + r) * c.rowStride();
            int done = 0;
            while (done < cols) {
                int j = j0 + done;
                int run = c.blockCols() == Integer.MAX_VALUE ? cols - done : Math.min(cols - done, c.blockCols() - j % c.blockCols());
                long at = rowAt + c.colIndex(j);
                int to = r * NR + done;
                int x = 0;
                for (; x + L <= run; x += L) {
                    long byteAt = (at + x) * 4;
                    FloatVector v = FloatVector.fromArray(S, t, to + x);
                    if (alpha != 1f) v = v.mul(alpha);
                    if (!first) v = v.add(FloatVector.fromMemorySegment(S, seg, byteAt, NO));
                    else if (beta != 0f) v = v.add(FloatVector.fromMemorySegment(S, seg, byteAt, NO).mul(beta));
                    v.intoMemorySegment(seg, byteAt, NO);
                }
                for (; x < run; x++) { // tail: scalar (masked memory access has no fast path on heap segments)
                    long byteAt = (at + x) * 4;
                    float v = t[to + x];
                    if (alpha != 1f) v *= alpha;
                    if (!first) v += seg.get(F, byteAt);
                    else if (beta != 0f) v += beta * seg.get(F, byteAt);
                    seg.set(F, byteAt, v);
                }
                done += run;
            }
        }
    }

    /** The scratch tile's rows x cols corner = C's tile (the rest of the tile is never stored back). */
    private static void tileFromC(float[] t, int rows, int cols, View c, int i0, int j0) {
        MemorySegment seg = c.seg();
        for (int r = 0; r < rows; r++) {
            long rowAt = c.off() + (long) (i0 + r) * c.rowStride();
            int done = 0;
            while (done < cols) { // contiguous runs of C's row (one per column block)
                int j = j0 + done;
                int run = c.blockCols() == Integer.MAX_VALUE ? cols - done : Math.min(cols - done, c.blockCols() - j % c.blockCols());
                MemorySegment.copy(seg, F, (rowAt + c.colIndex(j)) * 4, t, r * NR + done, run);
                done += run;
            }
        }
    }

    private static void scaleC(int m, int n, float beta, View c) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                long at = (c.off() + (long) i * c.rowStride() + c.colIndex(j)) * 4;
                c.seg().set(F, at, beta == 0f ? 0f : beta * c.seg().get(F, at));
            }
    }

    /** Whether op(A) is packed once up front for all tasks (it is small enough). */
    private static boolean sharesA(int m, int k) {
        int mr = chooseMr(m);
        return (long) ceilDiv(m, mr) * mr * k <= SHARED_A_MAX;
    }

    /** The panel height with the least padded work for M rows (ties go to the taller, faster kernel). */
    static int chooseMr(int m) {
        int best = MR_CHOICES[0];
        double bestCost = Double.MAX_VALUE;
        for (int i = 0; i < MR_CHOICES.length; i++) {
            double cost = (double) ceilDiv(m, MR_CHOICES[i]) * MR_CHOICES[i] / MR_EFFICIENCY[i];
            if (cost < bestCost - 1e-9) { bestCost = cost; best = MR_CHOICES[i]; }
        }
        return best;
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    /**
     * The depth chunk for K: K cut into as few chunks of at most KC_MAX as possible, of equal length
     * (rounded up to a multiple of 8), so no chunk is a short remainder whose tile store costs as much
     * as its arithmetic. Depends on K only.
     */
    static int depthChunk(int k) {
        int chunks = ceilDiv(k, KC_MAX);
        return Math.min(k, ceilDiv(ceilDiv(k, chunks), 8) * 8);
    }

    // ---- packing dense views ---------------------------------------------------------------------------

    /** Panels of a dense op(A) view (logical [M, K]). */
    public static PackA packerA(View v) {
        if (v.rowStride() == 1 && v.blockCols() == Integer.MAX_VALUE) {
            // op(A) = A^T of a row-major matrix: the mr rows of a panel are contiguous at each depth
            return (i0, rows, k0, kc, mr, dst, off) -> {
                MemorySegment seg = v.seg();
                for (int kk = 0; kk < kc; kk++) {
                    long at = (v.off() + i0 + (k0 + kk) * v.colStride()) * 4;
                    int d = off + kk * mr, r = 0;
                    for (; r < rows; r++) dst[d + r] = seg.get(F, at + 4L * r);
                    for (; r < mr; r++) dst[d + r] = 0f;
                }
            };
        }
        return (i0, rows, k0, kc, mr, dst, off) -> {
            MemorySegment seg = v.seg();
            for (int r = 0; r < rows; r++) {
                long rowAt = v.off() + (long) (i0 + r) * v.rowStride();
                if (v.colStride() == 1) {
                    // contiguous runs of a row (one per column block, e.g. one image of a batched conv view)
                    int done = 0;
                    while (done < kc) {
                        int col = k0 + done;
                        int run = v.blockCols() == Integer.MAX_VALUE ? kc - done : Math.min(kc - done, v.blockCols() - col % v.blockCols());
                        long at = (rowAt + v.colIndex(col)) * 4;
                        int d = off + done * mr + r;
                        for (int t = 0; t < run; t++) dst[d + t * mr] = seg.get(F, at + 4L * t);
                        done += run;
                    }
                } else {
                    for (int kk = 0; kk < kc; kk++) dst[off + kk * mr + r] = seg.get(F, (rowAt + v.colIndex(k0 + kk)) * 4);
                }
            }
            for (int r = rows; r < mr; r++)
                for (int kk = 0; kk < kc; kk++) dst[off + kk * mr + r] = 0f;
        };
    }

    /** Panels of a dense op(B) view (logical [K, N]). */
    public static PackB packerB(View v) {
        if (v.colStride() == 1) {
            // rows of op(B) are contiguous runs (within column blocks): vector copies
            return (k0, kc, j0, cols, dst, off) -> {
                MemorySegment seg = v.seg();
                for (int kk = 0; kk < kc; kk++) {
                    long rowAt = v.off() + (long) (k0 + kk) * v.rowStride();
                    copyRun(seg, rowAt, v, j0, cols, dst, off + kk * NR);
                }
            };
        }
        return (k0, kc, j0, cols, dst, off) -> {
            // op(B) = B^T of a row-major matrix: each panel column is a contiguous run of depth
            MemorySegment seg = v.seg();
            for (int cc = 0; cc < cols; cc++) {
                long at = (v.off() + v.colIndex(j0 + cc) + (long) k0 * v.rowStride()) * 4;
                long step = v.rowStride() * 4;
                for (int kk = 0; kk < kc; kk++) dst[off + kk * NR + cc] = seg.get(F, at + kk * step);
            }
            for (int cc = cols; cc < NR; cc++)
                for (int kk = 0; kk < kc; kk++) dst[off + kk * NR + cc] = 0f;
        };
    }

    /** dst[d .. d+NR) = row elements at columns [j0, j0+cols) of a unit-column-stride view, then zeros. */
    private static void copyRun(MemorySegment seg, long rowAt, View v, int j0, int cols, float[] dst, int d) {
        int done = 0;
        while (done < cols) {
            int j = j0 + done;
            int run = v.blockCols() == Integer.MAX_VALUE ? cols - done : Math.min(cols - done, v.blockCols() - j % v.blockCols());
            long at = (rowAt + v.colIndex(j)) * 4;
            int x = 0;
            for (; x + L <= run; x += L) FloatVector.fromMemorySegment(S, seg, at + 4L * x, NO).intoArray(dst, d + done + x);
            for (; x < run; x++) dst[d + done + x] = seg.get(F, at + 4L * x);
            done += run;
        }
        for (int x = cols; x < NR; x++) dst[d + x] = 0f;
    }
}
