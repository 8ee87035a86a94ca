package dvp.training.perf;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.ConvSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code conv}: every distinct convolution of a torchvision ResNet-50 (v1.5) at the given batch and
 * resolution, each direction (forward, data gradient, filter gradient) a workload of its own,
 * calling the backend primitives directly. Settings list each shape with how often the network
 * uses it, so per-shape times weight into a full step.
 */
final class ConvScenario extends Scenario {
    /** One distinct conv: input [N, ci, h, h], weight [co, ci, k, k]. */
    record Shape(int ci, int co, int k, int stride, int pad, int h) {
        String label(int n) { return "x[" + n + "," + ci + "," + h + "," + h + "] w[" + co + "," + ci + "," + k + "," + k + "] stride " + stride; }
    }

    private final List<Workload> workloads = new ArrayList<>();

    ConvScenario(Backend backend, ScenarioOptions o) {
        super(backend);
        int batch = o.batchOr(4, 256, onGpu()), res = o.resolutionOr(64, 224, onGpu());
        if (o.arch() != null && !o.arch().equalsIgnoreCase("resnet50"))
            throw new IllegalArgumentException("conv: only the ResNet-50 conv shapes are listed (got --arch " + o.arch() + ")");
        Map<Shape, Integer> shapes = resnet50Convs(res);
        settings.put("arch", "resnet50");
        settings.put("batch", batch);
        settings.put("resolution", res);
        Map<String, Integer> uses = new LinkedHashMap<>();
        shapes.forEach((s, n) -> uses.put(s.label(batch), n));
        settings.put("shapes_and_uses_per_step", uses);
        settings.put("seed", o.seed());
        Rng rng = new Rng(o.seed());
        DType dt = productDType();
        settings.put("dtype", dt.safetensorsName());
        for (Shape s : shapes.keySet()) {
            ConvSpec spec = ConvSpec.of(s.stride, s.pad, 1);
            int ho = spec.outH(s.h, s.k);
            Tensor x = as(dt, Tensor.of(backend, rng.normal(batch * s.ci * s.h * s.h, 0, 1), batch, s.ci, s.h, s.h));
            Tensor w = as(dt, Tensor.of(backend, rng.normal(s.co * s.ci * s.k * s.k, 0, 0.05), s.co, s.ci, s.k, s.k));
            Tensor y = Tensor.empty(backend, dt, batch, s.co, ho, ho);
            Tensor dy = as(dt, Tensor.of(backend, rng.normal(batch * s.co * ho * ho, 0, 1), batch, s.co, ho, ho));
            Tensor dx = Tensor.empty(backend, dt, batch, s.ci, s.h, s.h), dw = Tensor.empty(backend, dt, s.co, s.ci, s.k, s.k);
            String l = s.label(batch);
            workloads.add(new Workload("conv2d_forward " + l, 0, () -> backend.conv2dForward(x, w, y, spec)));
            workloads.add(new Workload("conv2d_backward_data " + l, 0, () -> backend.conv2dBackwardData(dy, w, dx, spec)));
            workloads.add(new Workload("conv2d_backward_filter " + l, 0, () -> backend.conv2dBackwardFilter(x, dy, dw, spec)));
        }
    }

    /** The distinct convs of ResNet-50 at this input size, with how many times each occurs. */
    static Map<Shape, Integer> resnet50Convs(int res) {
        Map<Shape, Integer> m = new LinkedHashMap<>();
        m.merge(new Shape(3, 64, 7, 2, 3, res), 1, Integer::sum);
        int h = ((res + 6 - 7) / 2 + 1 + 2 - 3) / 2 + 1; // stem conv, then 3x3/2 max-pool with padding 1
        int in = 64;
        int[] blocks = {3, 4, 6, 3};
        for (int stage = 0; stage < 4; stage++) {
            int planes = 64 << stage, out = planes * 4;
            for (int b = 0; b < blocks[stage]; b++) {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                m.merge(new Shape(in, planes, 1, 1, 0, h), 1, Integer::sum);
                m.merge(new Shape(planes, planes, 3, stride, 1, h), 1, Integer::sum);
                int ho = (h + 2 - 3) / stride + 1;
                m.merge(new Shape(planes, out, 1, 1, 0, ho), 1, Integer::sum);
                if (b == 0) m.merge(new Shape(in, out, 1, stride, 0, h), 1, Integer::sum);
                in = out;
                h = ho;
            }
        }
        return m;
    }

    @Override
    public String name() { return "conv"; }

    @Override
    public List<Workload> workloads() { return workloads; }

    @Override
    public Map<String, float[]> fingerprint() { return Map.of(); }
}
