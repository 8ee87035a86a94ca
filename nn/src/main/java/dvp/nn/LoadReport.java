package dvp.nn;

import java.util.List;

/**
 * What a state-dict load did. Keys are the module's keys (after the {@link LoadOptions} rewrite).
 *
 * @param missing    module keys the source did not provide (left unchanged)
 * @param unexpected source keys (rewritten) the module does not have
 * @param mismatched keys present on both sides whose shape or dtype cannot be copied (left unchanged)
 * @param defaulted  {@code *.num_batches_tracked} buffers absent from the source, set to 0 as
 *                   PyTorch does for state dicts without version metadata
 * @param ignored    source keys (original spelling) skipped by select/drop options
 * @param loaded     module keys that were copied
 */
public record LoadReport(List<String> missing, List<String> unexpected, List<Mismatch> mismatched,
                         List<String> defaulted, List<String> ignored, List<String> loaded) {

    /** A key whose source value cannot be copied: what the module expects and what the source has. */
    public record Mismatch(String key, String expected, String found) {
        @Override
        public String toString() { return key + ": checkpoint has " + found + ", model has " + expected; }
    }

    public LoadReport {
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
        mismatched = List.copyOf(mismatched);
        defaulted = List.copyOf(defaulted);
        ignored = List.copyOf(ignored);
        loaded = List.copyOf(loaded);
    }

    /** No missing, unexpected or mismatched keys. */
    public boolean isComplete() { return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty(); }

    /** One line per problem category, e.g. "2 missing keys: fc.weight, fc.bias". */
    public String describeProblems() {
        StringBuilder sb = new StringBuilder();
        if (!missing.isEmpty()) sb.append("; ").append(count(missing.size(), "missing key")).append(": ").append(String.join(", ", missing));
        if (!unexpected.isEmpty()) sb.append("; ").append(count(unexpected.size(), "unexpected key")).append(": ").append(String.join(", ", unexpected));
        if (!mismatched.isEmpty()) {
            sb.append("; ").append(count(mismatched.size(), "size/dtype mismatch")).append(": ");
            for (int i = 0; i < mismatched.size(); i++) sb.append(i == 0 ? "" : ", ").append(mismatched.get(i));
        }
        return sb.isEmpty() ? "no problems" : sb.substring(2);
    }

    private static String count(int n, String what) { return n + " " + what + (n == 1 ? "" : what.endsWith("h") ? "es" : "s"); }

    @Override
    public String toString() {
        return "LoadReport(" + loaded.size() + " loaded; " + describeProblems()
                + (defaulted.isEmpty() ? "" : "; defaulted " + defaulted)
                + (ignored.isEmpty() ? "" : "; ignored " + ignored.size() + " keys") + ")";
    }
}
