package dvp.training.distill;

import dvp.engine.Rng;
import dvp.engine.testing.CudaTesting;
import dvp.nn.parity.Bf16StepCheck;
import org.junit.jupiter.api.Test;

/**
 * CudaDistillStepTest's OFD distillation iteration (teacher forward and margins, connectors, OFD
 * loss, label-smoothed cross-entropy, Nesterov SGD) under bf16 autocast with bf16 activations on the
 * device, against the fp32 CPU iteration within the calibrated bf16 tolerance ({@link Bf16StepCheck}):
 * the stage features reach the OFD loss as bf16 and are cast to F32 at its entry.
 */
class Bf16DistillStepTest {
    @Test
    void aBf16DistillationStepOnTheDeviceMatchesTheFp32CpuStepWithinCalibratedBf16Tolerances() {
        float[] images = new Rng(32).normal(4 * 3 * 16 * 16, 0, 1);
        System.out.println("bf16 OFD step vs the fp32 CPU step:" + Bf16StepCheck.check(CudaTesting.cuda(), CudaDistillStepTest::step, images, 32));
    }
}
