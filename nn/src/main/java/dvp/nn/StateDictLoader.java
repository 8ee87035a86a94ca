package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The validate-then-copy algorithm behind {@link Module#loadStateDict(Map, LoadOptions)}. */
final class StateDictLoader {
    private StateDictLoader() {}

    static final String BATCH_COUNTER = "num_batches_tracked";

    static LoadReport load(Module module, Map<String, Tensor> source, LoadOptions options) {
        // 1. rewrite source keys
        Map<String, Tensor> src = new LinkedHashMap<>();
        Map<String, String> originalOf = new LinkedHashMap<>();
        List<String> ignored = new ArrayList<>();
        for (var e : source.entrySet()) {
            String k = options.rewrite(e.getKey());
            if (k == null) {
                ignored.add(e.getKey());
                continue;
            }
            String clash = originalOf.put(k, e.getKey());
            if (clash != null)
                throw new IllegalArgumentException("loadStateDict: checkpoint keys '" + clash + "' and '" + e.getKey()
                        + "' both become '" + k + "' under " + options);
            if (e.getValue() == null) throw new IllegalArgumentException("loadStateDict: checkpoint key '" + e.getKey() + "' has no tensor");
            src.put(k, e.getValue());
        }

        // 2. validate against the module's own keys
        Map<String, Tensor> own = module.stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), defaulted = new ArrayList<>(), loaded = new ArrayList<>();
        List<LoadReport.Mismatch> mismatched = new ArrayList<>();
        for (var e : own.entrySet()) {
            String key = e.getKey();
            Tensor dst = e.getValue();
            Tensor s = src.get(key);
            if (s == null) {
                if (isBatchCounter(key, dst)) defaulted.add(key);
                else missing.add(key);
            } else if (!sameShape(key, s, dst) || !TensorTransfer.canCopy(s.dtype(), dst.dtype())) {
                mismatched.add(new LoadReport.Mismatch(key, dst.dtype() + Shape.str(dst.shape()), s.dtype() + Shape.str(s.shape())));
            } else {
                loaded.add(key);
            }
        }
        for (String k : src.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        LoadReport report = new LoadReport(missing, unexpected, mismatched, defaulted, ignored, loaded);

        if (options.isStrict() && !report.isComplete())
            throw new StateDictException("loadStateDict (strict) into " + module.kind() + ": " + report.describeProblems()
                    + ". Nothing was copied." + hint(report), report);

        // 3. copy (in place, so optimizer/parameter references stay valid)
        try (var g = GradMode.noGrad()) {
            for (String k : loaded) TensorTransfer.copyInto(own.get(k), src.get(k));
            for (String k : defaulted) own.get(k).backend().fill(own.get(k), 0);
        }
        return report;
    }

    /**
     * Shapes match, or a BN batch counter is stored as [1] where the module has a scalar: PyTorch's
     * {@code _load_from_state_dict} accepts that too (its "loading 1-dim tensor from 0.3.*" rule), and
     * some exporters write scalars that way.
     */
    private static boolean sameShape(String key, Tensor src, Tensor dst) {
        if (Arrays.equals(src.shape(), dst.shape())) return true;
        return isBatchCounter(key, dst) && dst.shape().length == 0 && Arrays.equals(src.shape(), new int[]{1});
    }

    private static boolean isBatchCounter(String key, Tensor t) {
        return (key.equals(BATCH_COUNTER) || key.endsWith("." + BATCH_COUNTER)) && t.dtype() == DType.I64;
    }

    private static String hint(LoadReport r) {
        boolean prefixed = false;
        for (String k : r.unexpected()) if (k.startsWith("module.") || k.startsWith("encoder_q.") || k.startsWith("encoder_k.")) prefixed = true;
        return prefixed ? " (checkpoint keys carry a 'module.'/'encoder_q.' prefix: use LoadOptions.selectPrefix/stripPrefix)" : "";
    }
}
