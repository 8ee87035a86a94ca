package dvp.engine.cpu;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The reference for the fused batch norm + residual add + ReLU ({@code Backend.batchNormReluTrain*}):
 * literally the unfused primitives in the order a ResNet block runs them, so on the CPU the fused
 * op is bit-identical to batch norm, add and ReLU done one by one (and to PyTorch's block as
 * closely as those are). F32 only (the fp32 reference; BF16 is refused by name). Either layout:
 * channels-last activations run through NCHW copies ({@link NchwCall}), outputs are written back
 * in the caller's layout, so the values do not depend on the layout.
 */
final class CpuBatchNormRelu {
    private CpuBatchNormRelu() {}

    /** y = bn(x); y = y + residual; y = max(y, 0): each step overwrites y in place. */
    static void trainForward(Tensor x, Tensor residual, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                             float momentum, float eps, boolean relu, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNormReluTrainForward";
        F32Only.check(op, x, residual, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd);
        try (NchwCall c = new NchwCall(op, x, residual, y)) {
            Tensor cy = c.out(y);
            CpuBatchNorm.trainForward(c.in(x), gamma, beta, runningMean, runningVar, momentum, eps, cy, saveMean, saveInvStd);
            if (residual != null) CpuElementwise.axpby(1f, cy, 1f, c.in(residual), cy);
            if (relu) CpuElementwise.relu(cy, cy);
        }
    }

    /** dz = ReLU's backward of dy (dy itself without ReLU), dresidual = dz, dx = batch norm's backward of dz. */
    static void trainBackward(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                              boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        String op = "batchNormReluTrainBackward";
        Tensor mask = relu ? y : null; // y is unused (and may be null) without ReLU
        F32Only.check(op, x, mask, dy, gamma, saveMean, saveInvStd, dx, dresidual, dgamma, dbeta);
        try (NchwCall c = new NchwCall(op, x, mask, dy, dx, dresidual)) {
            backwardNchw(c.in(x), c.in(mask), c.in(dy), gamma, saveMean, saveInvStd, relu, c.out(dx), c.out(dresidual), dgamma, dbeta);
        }
    }

    private static void backwardNchw(Tensor x, Tensor y, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                     boolean relu, Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {
        if (!relu) {
            if (dresidual != null) MemorySegment.copy(Mem.seg(dy), Mem.base(dy), Mem.seg(dresidual), Mem.base(dresidual), 4L * dy.numel());
            CpuBatchNorm.trainBackward(x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
            return;
        }
        if (dresidual != null) {
            CpuElementwise.reluBackward(y, dy, dresidual);
            CpuBatchNorm.trainBackward(x, dresidual, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
            return;
        }
        try (Scope tmp = Scope.open("batch_norm_relu backward")) {
            Tensor dz = Tensor.empty(x.backend(), DType.F32, x.shape());
            CpuElementwise.reluBackward(y, dy, dz);
            CpuBatchNorm.trainBackward(x, dz, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
        }
    }
}
