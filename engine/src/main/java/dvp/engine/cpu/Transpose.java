package dvp.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Batched 2-D transposes (NCHW -> NHWC and the like), in cache-sized tiles, split over the batch and rows. */
final class Transpose {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final int TILE = 32;

    private Transpose() {}

    /**
     * For each of `batch` matrices: dst[b][c][r] = src[b][r][c], src rows x cols contiguous at element
     * srcOff + b*rows*cols, dst cols x rows at dstOff + b*rows*cols.
     */
    static void batched(MemorySegment src, long srcOff, int batch, int rows, int cols, float[] dst, int dstOff) {
        int rowTiles = Sgemm.ceilDiv(rows, TILE);
        Parallel.range(batch * rowTiles, Math.max(1, (1 << 14) / (TILE * Math.max(1, cols))), (lo, hi) -> {
            float[] tile = new float[TILE * TILE];
            for (int task = lo; task < hi; task++) {
                int b = task / rowTiles, r0 = (task % rowTiles) * TILE, r1 = Math.min(rows, r0 + TILE);
                long s = srcOff + (long) b * rows * cols;
                int d = dstOff + b * rows * cols;
                for (int c0 = 0; c0 < cols; c0 += TILE) {
                    int c1 = Math.min(cols, c0 + TILE), w = c1 - c0;
                    for (int r = r0; r < r1; r++) // bulk row reads: per-element segment access is several times slower
                        MemorySegment.copy(src, F, (s + (long) r * cols + c0) * 4, tile, (r - r0) * TILE, w);
                    for (int c = 0; c < w; c++) {
                        int at = d + (c0 + c) * rows;
                        for (int r = r0; r < r1; r++) dst[at + r] = tile[(r - r0) * TILE + c];
                    }
                }
            }
        });
    }
}
