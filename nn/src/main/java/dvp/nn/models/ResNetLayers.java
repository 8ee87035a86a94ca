package dvp.nn.models;

import dvp.engine.Rng;
import dvp.nn.Conv2d;

/** torchvision's conv3x3/conv1x1 helpers: no bias, Kaiming-normal (fan_out, relu) weights as ResNet's init loop sets them. */
final class ResNetLayers {
    private ResNetLayers() {}

    static Conv2d conv3x3(int in, int out, int stride, int groups, Rng rng) {
        return new Conv2d(in, out, 3, stride, 1, groups, false, Conv2d.WeightInit.KAIMING_NORMAL_FAN_OUT, rng);
    }

    static Conv2d conv1x1(int in, int out, int stride, Rng rng) {
        return new Conv2d(in, out, 1, stride, 0, 1, false, Conv2d.WeightInit.KAIMING_NORMAL_FAN_OUT, rng);
    }
}
