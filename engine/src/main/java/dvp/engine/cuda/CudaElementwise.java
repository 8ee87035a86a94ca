package dvp.engine.cuda;

import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;

/** Elementwise primitives: kernels/src/main/cuda/elementwise.cu. CPU reference: CpuElementwise. */
final class CudaElementwise {
    private CudaElementwise() {}

    /** F32, or BF16 (a, b, out all one type; the sum in fp32, one rounding): residual adds, gradient accumulation. */
    static void axpby(CudaContext c, float alpha, Tensor a, float beta, Tensor b, Tensor out) {
        boolean bf16 = Addr.bf16("axpby", a, b, out);
        long n = out.numel();
        c.launch1d(bf16 ? "dvp_axpby_bf16" : "dvp_axpby_f32", n, new KernelArgs().i64(n).f32(alpha).ptr(of(a)).f32(beta).ptr(of(b)).ptr(of(out)));
    }

    static void mul(CudaContext c, Tensor a, Tensor b, Tensor out) {
        Addr.f32("mul", a, b, out);
        long n = out.numel();
        c.launch1d("dvp_mul_f32", n, new KernelArgs().i64(n).ptr(of(a)).ptr(of(b)).ptr(of(out)));
    }

    static void scaleShift(CudaContext c, Tensor a, float s, float t, Tensor out) {
        boolean bf16 = Addr.bf16("scaleShift", a, out);
        long n = out.numel();
        c.launch1d(bf16 ? "dvp_scale_shift_bf16" : "dvp_scale_shift_f32", n, new KernelArgs().i64(n).ptr(of(a)).f32(s).f32(t).ptr(of(out)));
    }

    static void scaleByScalarTensor(CudaContext c, Tensor a, Tensor s, Tensor out) {
        Addr.f32("scaleByScalarTensor", a, s, out);
        long n = out.numel();
        c.launch1d("dvp_scale_by_scalar_f32", n, new KernelArgs().i64(n).ptr(of(a)).ptr(of(s)).ptr(of(out)));
    }

    static void rsqrtEps(CudaContext c, Tensor x, float eps, Tensor out) {
        Addr.f32("rsqrtEps", x, out);
        long n = out.numel();
        c.launch1d("dvp_rsqrt_eps_f32", n, new KernelArgs().i64(n).ptr(of(x)).f32(eps).ptr(of(out)));
    }

    static void relu(CudaContext c, Tensor x, Tensor out) {
        boolean bf16 = Addr.bf16("relu", x, out);
        long n = out.numel();
        c.launch1d(bf16 ? "dvp_relu_bf16" : "dvp_relu_f32", n, new KernelArgs().i64(n).ptr(of(x)).ptr(of(out)));
    }

    static void reluBackward(CudaContext c, Tensor y, Tensor dy, Tensor dx) {
        boolean bf16 = Addr.bf16("reluBackward", y, dy, dx);
        long n = dx.numel();
        c.launch1d(bf16 ? "dvp_relu_backward_bf16" : "dvp_relu_backward_f32", n, new KernelArgs().i64(n).ptr(of(y)).ptr(of(dy)).ptr(of(dx)));
    }

    static void addRowVector(CudaContext c, Tensor x, Tensor v, Tensor out) {
        Addr.f32("addRowVector", x, v, out);
        long n = x.numel(), rows = x.dim(0), cols = rows == 0 ? 1 : n / rows;
        c.launch1d("dvp_add_row_vector_f32", n, new KernelArgs().i64(n).i64(Math.max(1, cols)).ptr(of(x)).ptr(of(v)).ptr(of(out)));
    }

    static void channelAffine(CudaContext c, Tensor x, Tensor scale, Tensor shift, Tensor out) {
        boolean bf16 = Addr.bf16("channelAffine", x, out); // x, out F32 or BF16; the coefficients fp32
        Addr.f32("channelAffine", scale, shift);
        CudaLayout.channelsLast("channelAffine", x, out);
        long total = x.numel(), ch = x.dim(1), plane = CudaLayout.plane(x);
        c.launch1d(bf16 ? "dvp_channel_affine_bf16" : "dvp_channel_affine_f32", total, new KernelArgs().i64(total).i64(ch).i64(plane)
                .ptr(of(x)).ptr(of(scale)).ptr(Addr.orNull(shift)).ptr(of(out)));
    }

    /** Elements per (n, c) plane of an [N, C, *spatial] tensor (at least 1, for the kernels' divisions). */
    static long planeOf(Tensor x) {
        long nc = (long) x.dim(0) * x.dim(1);
        return nc == 0 ? 1 : Math.max(1, x.numel() / nc);
    }
}
