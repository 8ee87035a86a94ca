// The simulated cuBLAS/cuDNN driven through dvp's real FFM bindings (dvp.engine.cuda.ffm.Cublas and
// Cudnn from the engine jar): checks that every FunctionDescriptor matches the C prototypes, that
// Cudnn.chooseAlgorithm decodes the perf records (Cudnn.ALGO_PERF layout) and skips the
// non-deterministic algorithms, and that statuses reach Java with their names. Host memory stands in
// for device memory: run it with the test double of the driver (inline_runtime.cpp built as
// libcuda.so.1) on the loader path, as libs-check.sh does:
//   LD_LIBRARY_PATH=DIR java --enable-native-access=ALL-UNNAMED -cp dvp-engine.jar SimLibsFfmCheck.java DIR
// where DIR holds libcuda.so.1 (test double), libcublas.so.13 and libcudnn.so.9.
import dvp.engine.cuda.ffm.Cublas;
import dvp.engine.cuda.ffm.Cudnn;
import dvp.engine.ffm.NativeLibrary;
import java.lang.foreign.*;
import java.nio.file.Path;
import static java.lang.foreign.ValueLayout.*;

public class SimLibsFfmCheck {
    static int failed = 0;
    static void check(boolean ok, String what) { System.out.println((ok ? "ok    " : "FAIL  ") + what); if (!ok) failed++; }

    public static void main(String[] args) {
        Arena a = Arena.global();
        // ---- cuBLAS through Cublas.java: row-major C[2x3] = A[2x4] B[4x3] via the column-major swap
        NativeLibrary bl = NativeLibrary.openFile("cuBLAS (sim)", Path.of(args[0], "libcublas.so.13"));
        MemorySegment ws = a.allocate(1 << 16, 256);
        Cublas blas = Cublas.create(bl, 0L, ws.address(), ws.byteSize(), () -> "simcheck");
        check(blas.version() == 130000 && blas.libraryVersion().equals("13.0.0"), "cuBLAS version via Java: " + blas.libraryVersion());
        int m = 2, n = 3, k = 4;
        MemorySegment A = a.allocate(JAVA_FLOAT, m * k), B = a.allocate(JAVA_FLOAT, k * n), C = a.allocate(JAVA_FLOAT, m * n);
        for (int i = 0; i < m * k; i++) A.setAtIndex(JAVA_FLOAT, i, i * 0.5f - 1);
        for (int i = 0; i < k * n; i++) B.setAtIndex(JAVA_FLOAT, i, 2 - i * 0.25f);
        // as CudaBlas.matmul: C^T = B^T A^T, i.e. gemm(N, N, n, m, k, B, ldb=n, A, lda=k, C, ldc=n)
        blas.gemmEx(Cublas.OP_N, Cublas.OP_N, n, m, k, 1f, B.address(), Cublas.CUDA_R_32F, n, A.address(), Cublas.CUDA_R_32F, k,
                0f, C.address(), Cublas.CUDA_R_32F, n, Cublas.COMPUTE_32F);
        boolean ok = true;
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
            double s = 0; for (int l = 0; l < k; l++) s += (double) A.getAtIndex(JAVA_FLOAT, i * k + l) * B.getAtIndex(JAVA_FLOAT, l * n + j);
            ok &= C.getAtIndex(JAVA_FLOAT, i * n + j) == (float) s;
        }
        check(ok, "Cublas.gemmEx row-major 2x3x4 through the FFM binding equals a Java loop");
        try {
            blas.gemmEx(Cublas.OP_N, Cublas.OP_N, n, m, k, 1f, B.address(), Cublas.CUDA_R_32F, 1, A.address(), Cublas.CUDA_R_32F, k,
                    0f, C.address(), Cublas.CUDA_R_32F, n, Cublas.COMPUTE_32F);
            check(false, "lda too small must throw");
        } catch (RuntimeException e) {
            check(e.getMessage().contains("CUBLAS_STATUS_INVALID_VALUE"), "Java sees CUBLAS_STATUS_INVALID_VALUE text: " + e.getMessage());
        }
        blas.destroy();

        // ---- cuDNN through Cudnn.java
        NativeLibrary dl = NativeLibrary.openFile("cuDNN (sim)", Path.of(args[0], "libcudnn.so.9"));
        Cudnn dnn = Cudnn.create(dl, 0L, () -> "simcheck");
        check(dnn.versionString().equals("9.6.0"), "cuDNN version via Java: " + dnn.versionString());
        int N = 2, Cc = 4, H = 5, W = 5, K = 6, R = 3, G = 2;
        MemorySegment xd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, N, Cc, H, W);
        MemorySegment wd = dnn.filter4d(Cudnn.DATA_FLOAT, Cudnn.TENSOR_NCHW, K, Cc / G, R, R);
        MemorySegment yd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, N, K, H, W);
        MemorySegment cd = dnn.convolution2d(1, 1, 1, 1, Cudnn.DATA_FLOAT, G, Cudnn.FMA_MATH);
        Cudnn.Algo f = dnn.chooseAlgorithm(Cudnn.Direction.FORWARD, xd, wd, cd, yd, 512L << 20);
        Cudnn.Algo bd = dnn.chooseAlgorithm(Cudnn.Direction.BACKWARD_DATA, wd, yd, cd, xd, 512L << 20);
        Cudnn.Algo bf = dnn.chooseAlgorithm(Cudnn.Direction.BACKWARD_FILTER, xd, yd, cd, wd, 512L << 20);
        check(f.algo() == 1 && f.workspace() == 8L * 2 * 9 && bd.algo() == 1 && bd.workspace() == 4L * K * 2 * 9 && bf.algo() == 1
                && bf.workspace() == 4L * Cc * 9 * H * W,
                "Cudnn.chooseAlgorithm reads the perf records (layout): fwd " + f + ", bwdData " + bd + ", bwdFilter " + bf);
        try {
            dnn.chooseAlgorithm(Cudnn.Direction.BACKWARD_FILTER, xd, yd, cd, wd, 100);
            check(false, "tiny max workspace must throw");
        } catch (RuntimeException e) {
            check(e.getMessage().contains("algo 0(status 0, 0 B, non-deterministic)") && e.getMessage().contains("algo 3(status 0"),
                    "chooser skips non-deterministic 0/3 and oversized 1: " + e.getMessage());
        }
        MemorySegment x = a.allocate(JAVA_FLOAT, N * Cc * H * W), w = a.allocate(JAVA_FLOAT, K * (Cc / G) * R * R),
                y = a.allocate(JAVA_FLOAT, N * K * H * W), wsp = a.allocate(1 << 20, 256);
        for (long i = 0; i < x.byteSize() / 4; i++) x.setAtIndex(JAVA_FLOAT, i, (float) Math.sin(i));
        for (long i = 0; i < w.byteSize() / 4; i++) w.setAtIndex(JAVA_FLOAT, i, (float) Math.cos(i));
        dnn.convolutionForward(xd, x.address(), wd, w.address(), cd, f.algo(), wsp.address(), f.workspace(), yd, y.address());
        double maxErr = 0;
        for (int nn = 0; nn < N; nn++) for (int kk = 0; kk < K; kk++) for (int p = 0; p < H; p++) for (int q = 0; q < W; q++) {
            int g = kk / (K / G); double s = 0;
            for (int c = 0; c < Cc / G; c++) for (int r = 0; r < R; r++) for (int t = 0; t < R; t++) {
                int h = p - 1 + r, ww = q - 1 + t;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                s += (double) x.getAtIndex(JAVA_FLOAT, ((nn * Cc + g * (Cc / G) + c) * H + h) * W + ww)
                        * w.getAtIndex(JAVA_FLOAT, ((kk * (Cc / G) + c) * R + r) * R + t);
            }
            maxErr = Math.max(maxErr, Math.abs(y.getAtIndex(JAVA_FLOAT, ((nn * K + kk) * H + p) * W + q) - s) / (Math.abs(s) + 1e-30));
        }
        check(maxErr <= 0x1p-23, "Cudnn.convolutionForward (groups 2, pad 1) through FFM matches a Java loop, max rel err " + maxErr);
        MemorySegment dx = a.allocate(JAVA_FLOAT, N * Cc * H * W), dw = a.allocate(JAVA_FLOAT, K * (Cc / G) * R * R);
        dnn.convolutionBackwardData(wd, w.address(), yd, y.address(), cd, bd.algo(), wsp.address(), bd.workspace(), xd, dx.address());
        dnn.convolutionBackwardFilter(xd, x.address(), yd, y.address(), cd, bf.algo(), wsp.address(), bf.workspace(), wd, dw.address());
        double l1 = 0, l2 = 0, l3 = 0;
        for (long i = 0; i < y.byteSize() / 4; i++) l1 += (double) y.getAtIndex(JAVA_FLOAT, i) * y.getAtIndex(JAVA_FLOAT, i);
        for (long i = 0; i < x.byteSize() / 4; i++) l2 += (double) x.getAtIndex(JAVA_FLOAT, i) * dx.getAtIndex(JAVA_FLOAT, i);
        for (long i = 0; i < w.byteSize() / 4; i++) l3 += (double) w.getAtIndex(JAVA_FLOAT, i) * dw.getAtIndex(JAVA_FLOAT, i);
        check(Math.abs(l1 - l2) <= 1e-5 * l1 && Math.abs(l1 - l3) <= 1e-5 * l1,
                "backward data/filter through FFM satisfy <y,y> = <x,dx> = <w,dw>: " + l1 + " " + l2 + " " + l3);
        // batch norm through the Java wrappers, including NULL running statistics
        MemorySegment bxd = dnn.tensor4d(Cudnn.TENSOR_NCHW, Cudnn.DATA_FLOAT, N, Cc, H * W, 1), pd = dnn.bnParamDescriptor(bxd);
        MemorySegment gam = a.allocate(JAVA_FLOAT, Cc), bet = a.allocate(JAVA_FLOAT, Cc), rm = a.allocate(JAVA_FLOAT, Cc),
                rv = a.allocate(JAVA_FLOAT, Cc), sm = a.allocate(JAVA_FLOAT, Cc), si = a.allocate(JAVA_FLOAT, Cc),
                by = a.allocate(JAVA_FLOAT, N * Cc * H * W), dg = a.allocate(JAVA_FLOAT, Cc), db = a.allocate(JAVA_FLOAT, Cc);
        for (int c = 0; c < Cc; c++) { gam.setAtIndex(JAVA_FLOAT, c, 1); rv.setAtIndex(JAVA_FLOAT, c, 1); }
        dnn.batchNormForwardTraining(bxd, x.address(), by.address(), pd, gam.address(), bet.address(), 0.1, rm.address(), rv.address(),
                1e-5, sm.address(), si.address());
        ok = true;
        for (int c = 0; c < Cc; c++) {
            double s = 0; for (int nn = 0; nn < N; nn++) for (int i = 0; i < H * W; i++) s += x.getAtIndex(JAVA_FLOAT, (nn * Cc + c) * H * W + i);
            ok &= Math.abs(sm.getAtIndex(JAVA_FLOAT, c) - s / (N * H * W)) <= 1e-6 && Math.abs(rm.getAtIndex(JAVA_FLOAT, c) - 0.1 * s / (N * H * W)) <= 1e-6;
        }
        check(ok, "Cudnn.batchNormForwardTraining: saved and running means as computed in Java");
        dnn.batchNormForwardTraining(bxd, x.address(), by.address(), pd, gam.address(), bet.address(), 0.1, 0, 0, 1e-5, sm.address(), si.address());
        dnn.batchNormBackward(bxd, x.address(), y.address(), dx.address(), pd, gam.address(), dg.address(), db.address(), 1e-5, sm.address(), si.address());
        double sumDx = 0; for (long i = 0; i < dx.byteSize() / 4; i++) sumDx += dx.getAtIndex(JAVA_FLOAT, i);
        check(Math.abs(sumDx) < 1e-4, "Cudnn.batchNormBackward through FFM: dx sums to ~0 per channel (" + sumDx + "), NULL running stats accepted");
        try {
            dnn.batchNormForwardTraining(bxd, x.address(), by.address(), pd, gam.address(), bet.address(), 0.1, 0, 0, -1, sm.address(), si.address());
            check(false, "negative eps must throw");
        } catch (RuntimeException e) {
            check(e.getMessage().contains("CUDNN_STATUS_BAD_PARAM"), "Java sees CUDNN_STATUS_BAD_PARAM: " + e.getMessage());
        }
        dnn.destroy();
        System.out.println(failed == 0 ? "SimLibsFfmCheck: all passed" : "SimLibsFfmCheck: " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
