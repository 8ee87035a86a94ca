package dvp.nn.models;

import dvp.engine.Rng;
import dvp.nn.Conv2d;
import dvp.nn.Sequential;

/** Feature connectors for distillation. */
public final class Connectors {
    private Connectors() {}

    /**
     * OFD's {@code build_feature_connector} (ALGORITHMS §3.4): Sequential(Conv2d 1×1 C_s → C_t, no bias,
     * weight N(0, 2/C_t) — He-normal with fan_out = C_t·1·1 —, BatchNorm2d(C_t) with γ = 1, β = 0).
     * Keys {@code 0.weight}, {@code 1.weight}, {@code 1.bias}, {@code 1.running_mean}, ... Not an
     * identity even when C_s = C_t.
     */
    public static Sequential ofd(int studentChannels, int teacherChannels, NormFactory norm, Rng rng) {
        return new Sequential(
                new Conv2d(studentChannels, teacherChannels, 1, 1, 0, 1, false, Conv2d.WeightInit.KAIMING_NORMAL_FAN_OUT, rng),
                norm.create(teacherChannels));
    }

    public static Sequential ofd(int studentChannels, int teacherChannels, Rng rng) {
        return ofd(studentChannels, teacherChannels, NormFactory.batchNorm(), rng);
    }
}
