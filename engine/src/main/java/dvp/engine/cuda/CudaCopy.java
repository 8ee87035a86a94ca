package dvp.engine.cuda;

import dvp.engine.Bf16;
import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;

import static dvp.engine.cuda.Addr.of;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;

/**
 * Copies and fills: host↔device through {@link PinnedStaging}, device→device with
 * cuMemcpyDtoDAsync when the source is contiguous, else kernels/src/main/cuda/copy.cu's strided
 * gather. CPU reference: CpuBackend.copy / fill.
 */
final class CudaCopy {
    static final int MAX_RANK = 8;

    private CudaCopy() {}

    static void fromHost(CudaContext c, MemorySegment src, Tensor dst) {
        if (c.capturing) throw new IllegalStateException("copyFromHost during CUDA graph capture: copy inputs into the captured tensors before replay()");
        c.staging.upload(src, 0, of(dst), dst.numel() * dst.dtype().byteSize());
    }

    static void toHost(CudaContext c, Tensor src, MemorySegment dst) {
        if (c.capturing) throw new IllegalStateException("copyToHost during CUDA graph capture is not possible (it synchronises)");
        c.staging.download(of(src), dst, 0, src.numel() * src.dtype().byteSize());
        c.synchronize(); // a sync point: surface any error a kernel reported
    }

    static void copy(CudaContext c, Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype()) throw new IllegalArgumentException("copy: dtype " + src.dtype() + " into " + dst.dtype());
        int es = src.dtype().byteSize();
        long n = src.numel();
        if (n == 0) return;
        if (src.isContiguous()) {
            c.check(cuMemcpyDtoDAsync(new DevicePointer(of(dst)), new DevicePointer(of(src)), n * es, c.stream), "cuMemcpyDtoDAsync");
            return;
        }
        int[] shape = src.shape();
        long[] strides = src.strides();
        if (shape.length > MAX_RANK) throw new IllegalArgumentException("copy: rank " + shape.length + " > " + MAX_RANK + " for a strided view");
        long[] desc = new long[1 + 2 * MAX_RANK];
        desc[0] = shape.length;
        for (int i = 0; i < shape.length; i++) {
            desc[1 + i] = shape[i];
            desc[1 + MAX_RANK + i] = strides[i];
        }
        String kernel = switch (es) {
            case 1 -> "dvp_strided_copy_b1";
            case 2 -> "dvp_strided_copy_b2";
            case 4 -> "dvp_strided_copy_b4";
            case 8 -> "dvp_strided_copy_b8";
            default -> throw new IllegalArgumentException("copy: element size " + es);
        };
        c.launch1d(kernel, n, new KernelArgs().i64(n).struct64(desc).ptr(of(src)).ptr(of(dst)));
    }

    /**
     * out[i] = x[index[i]] by rows (Backend.gatherRows): grid.y walks the output rows (at most
     * 65,535 per launch, so larger batches take several), grid.x and the threads a row's columns,
     * so no thread divides its element index. An index outside [0, R) goes to the device error word.
     */
    static void gatherRows(CudaContext c, Tensor x, Tensor index, Tensor out) {
        Addr.f32("gatherRows", x, out);
        long n = out.dim(0), row = n == 0 ? 0 : out.numel() / n;
        if (n == 0 || row == 0) return;
        int gx = c.grid(row, 256);
        for (long first = 0; first < n; first += 65_535) {
            int rows = (int) Math.min(65_535, n - first);
            c.launch("dvp_gather_rows_b4", gx, rows, 256, 0, new KernelArgs().i64(row).i64(x.dim(0)).i64(first)
                    .ptr(of(x)).ptr(of(index)).ptr(of(out)).ptr(c.errorWordAddress()));
        }
    }

    static void fill(CudaContext c, Tensor dst, double value) {
        long n = dst.numel();
        if (n == 0) return;
        DevicePointer p = new DevicePointer(of(dst));
        switch (dst.dtype()) {
            case F32 -> c.check(cuMemsetD32Async(p, Float.floatToRawIntBits((float) value), n, c.stream), "cuMemsetD32Async");
            case I32 -> c.check(cuMemsetD32Async(p, (int) value, n, c.stream), "cuMemsetD32Async");
            case U8 -> c.check(cuMemsetD8Async(p, (byte) value, n, c.stream), "cuMemsetD8Async");
            case I64 -> c.launch1d("dvp_fill_u64", n, new KernelArgs().i64(n).i64((long) value).ptr(of(dst)));
            case F16 -> c.launch1d("dvp_fill_u16", n, new KernelArgs().i64(n).u16(Float.floatToFloat16((float) value)).ptr(of(dst)));
            case BF16 -> c.launch1d("dvp_fill_u16", n, new KernelArgs().i64(n).u16(toBf16((float) value)).ptr(of(dst)));
        }
    }

    /**
     * float → bfloat16 bits for a fill value: exactly what the cast kernel's cvt.rn.bf16.f32 gives
     * ({@link Bf16#fromFloat}: nearest, ties to even, every NaN to the canonical 0x7FFF), so a tensor
     * filled with v holds the bits of v cast to bf16.
     */
    static short toBf16(float v) { return Bf16.fromFloat(v); }
}
