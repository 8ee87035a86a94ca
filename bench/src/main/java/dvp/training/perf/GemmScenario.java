package dvp.training.perf;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code gemm}: out[M,N] = a[M,K] · b[K,N] at square sizes (or one {@code --size M,N,K}): SGEMM, or,
 * when the backend runs {@code --precision bf16}, the bf16 GEMM autocast uses (bf16 operands and
 * output, fp32 accumulation), as a bf16 run's linear layers compute it.
 */
final class GemmScenario extends Scenario {
    private final List<Workload> workloads = new ArrayList<>();
    private final List<Tensor> outs = new ArrayList<>();

    GemmScenario(Backend backend, ScenarioOptions o) {
        super(backend);
        List<int[]> shapes = new ArrayList<>();
        if (o.size() != null) {
            shapes.add(parseSize(o.size()));
        } else {
            for (int n : onGpu() ? new int[]{1024, 4096, 8192} : new int[]{256, 512, 1024}) shapes.add(new int[]{n, n, n});
        }
        List<String> labels = new ArrayList<>();
        Rng rng = new Rng(o.seed());
        DType dtype = productDType();
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            Tensor a = as(dtype, Tensor.of(backend, rng.normal(m * k, 0, 1), m, k)), b = as(dtype, Tensor.of(backend, rng.normal(k * n, 0, 1), k, n));
            Tensor c = Tensor.empty(backend, dtype, m, n);
            outs.add(c);
            String label = "M=" + m + " N=" + n + " K=" + k;
            labels.add(label);
            workloads.add(new Workload("matmul " + label, 0, () -> backend.matmul(a, false, b, false, c, 1f, 0f)));
        }
        settings.put("shapes", labels);
        settings.put("dtype", dtype.safetensorsName());
        settings.put("seed", o.seed());
    }

    static int[] parseSize(String s) {
        String[] p = s.split(",");
        if (p.length != 3) throw new IllegalArgumentException("gemm: --size must be M,N,K (three positive integers), got '" + s + "'");
        int[] v = new int[3];
        for (int i = 0; i < 3; i++) {
            try {
                v[i] = Integer.parseInt(p[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("gemm: --size must be M,N,K (three positive integers), got '" + s + "'");
            }
            if (v[i] <= 0) throw new IllegalArgumentException("gemm: --size must be M,N,K (three positive integers), got '" + s + "'");
        }
        if ((long) v[0] * v[2] > Integer.MAX_VALUE || (long) v[2] * v[1] > Integer.MAX_VALUE || (long) v[0] * v[1] > Integer.MAX_VALUE)
            throw new IllegalArgumentException("gemm: --size " + s + " is too large (each matrix must hold fewer than 2^31 elements)");
        return v;
    }

    @Override
    public String name() { return "gemm"; }

    @Override
    public List<Workload> workloads() { return workloads; }

    @Override
    public Map<String, float[]> fingerprint() {
        Map<String, float[]> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < outs.size(); i++) m.put("out" + i, outs.get(i).toFloatArray());
        return m;
    }
}
