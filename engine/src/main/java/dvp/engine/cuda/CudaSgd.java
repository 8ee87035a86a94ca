package dvp.engine.cuda;

import dvp.engine.Tensor;

import static dvp.engine.cuda.Addr.of;
import static dvp.engine.cuda.Addr.orNull;

/** torch.optim.SGD's per-parameter update: kernels/src/main/cuda/sgd.cu. CPU reference: CpuSgd. */
final class CudaSgd {
    private CudaSgd() {}

    static void update(CudaContext c, Tensor param, Tensor grad, Tensor buf, float lr, float momentum, float dampening,
                       float wd, boolean nesterov, boolean firstStep) {
        Addr.f32("sgdUpdate", param, grad, buf);
        if (momentum != 0f && buf == null)
            throw new IllegalArgumentException("sgdUpdate: momentum " + momentum + " needs a momentum buffer for " + param.describe());
        long n = param.numel();
        c.launch1d("dvp_sgd_update_f32", n, new KernelArgs().i64(n).ptr(of(param)).ptr(of(grad)).ptr(orNull(buf)).f32(lr).f32(momentum)
                .f32(1 - dampening).f32(wd).i32(nesterov ? 1 : 0).i32(firstStep ? 1 : 0));
    }
}
