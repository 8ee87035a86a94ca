package dvp.training.moco;

import dvp.engine.Rng;
import dvp.engine.testing.CudaTesting;
import dvp.nn.parity.Bf16StepCheck;
import org.junit.jupiter.api.Test;

/**
 * CudaMocoStepTest's MoCo v2 iteration (both encoders with split batch norm and the key shuffle,
 * margin-InfoNCE, enqueue, momentum update, SGD) under bf16 autocast with bf16 activations on the
 * device, against the fp32 CPU iteration within the calibrated bf16 tolerance ({@link Bf16StepCheck}):
 * the encoders' activations are bf16, the projections (linear with an fp32 bias) F32, and
 * normalize / margin-InfoNCE compute in fp32.
 */
class Bf16MocoStepTest {
    @Test
    void aBf16MocoStepOnTheDeviceMatchesTheFp32CpuStepWithinCalibratedBf16Tolerances() {
        float[] input = new Rng(79).normal(2 * 4 * 3 * 16 * 16, 0, 1);
        System.out.println("bf16 MoCo step vs the fp32 CPU step:" + Bf16StepCheck.check(CudaTesting.cuda(), CudaMocoStepTest::step, input, 79));
    }
}
