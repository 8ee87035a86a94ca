// torch.optim.SGD's update for one parameter, in place, in PyTorch's operation order.
// CPU reference: dvp.engine.cpu.CpuSgd. Every float operation is rounded separately (no FMA) so the
// result is bit-identical to the reference; `oneMinusDampening` is computed on the host in float.
#include "common.cuh"

DVP_KERNEL void dvp_sgd_update_f32(long long n, float* p, const float* g, float* buf, float lr, float momentum,
                                   float oneMinusDampening, float wd, int nesterov, int firstStep) {
  DVP_FOR(i, n) {
    float pv = p[i];
    float d = g[i];
    if (wd != 0.f) d = __fadd_rn(d, __fmul_rn(wd, pv));
    if (momentum != 0.f) {
      float b = firstStep ? d : __fadd_rn(__fmul_rn(buf[i], momentum), __fmul_rn(oneMinusDampening, d));
      buf[i] = b;
      d = nesterov ? __fadd_rn(d, __fmul_rn(momentum, b)) : b;
    }
    p[i] = __fsub_rn(pv, __fmul_rn(lr, d));
  }
}
