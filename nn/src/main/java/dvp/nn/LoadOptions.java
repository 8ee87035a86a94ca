package dvp.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * How {@link Module#loadStateDict(java.util.Map, LoadOptions)} maps checkpoint keys onto the
 * module. Rewriting happens per source key in this order:
 * <ol>
 *   <li>{@link #selectPrefix}: keys without the prefix are ignored, the prefix is removed from the rest
 *       (MoCo: select {@code "module.encoder_q."} to take the query encoder only, ALGORITHMS §2.6);</li>
 *   <li>{@link #stripPrefix}: each listed prefix, in order, is removed where present
 *       ({@code "module."} from DDP checkpoints, {@code "encoder_q."});</li>
 *   <li>{@link #drop}: keys matching the predicate (after rewriting) are ignored, e.g. {@code "fc."}
 *       to leave a fresh head; the model's own {@code fc.*} then show up as missing.</li>
 * </ol>
 * Ignored keys are listed in {@link LoadReport#ignored()}, never as unexpected. Immutable.
 */
public final class LoadOptions {
    private final boolean strict;
    private final String selectPrefix;
    private final List<String> stripPrefixes;
    private final List<Predicate<String>> drops;
    private final List<String> dropDescriptions;

    private LoadOptions(boolean strict, String selectPrefix, List<String> stripPrefixes, List<Predicate<String>> drops,
                        List<String> dropDescriptions) {
        this.strict = strict;
        this.selectPrefix = selectPrefix;
        this.stripPrefixes = List.copyOf(stripPrefixes);
        this.drops = List.copyOf(drops);
        this.dropDescriptions = List.copyOf(dropDescriptions);
    }

    /** Any missing, unexpected or mismatched key is an error and nothing is copied. */
    public static LoadOptions strict() { return new LoadOptions(true, null, List.of(), List.of(), List.of()); }

    /** Matching keys are copied; the rest is reported. */
    public static LoadOptions nonStrict() { return new LoadOptions(false, null, List.of(), List.of(), List.of()); }

    public LoadOptions withStrict(boolean value) { return new LoadOptions(value, selectPrefix, stripPrefixes, drops, dropDescriptions); }

    /** Only keys starting with {@code prefix} are considered, with the prefix removed. */
    public LoadOptions selectPrefix(String prefix) {
        return new LoadOptions(strict, prefix, stripPrefixes, drops, dropDescriptions);
    }

    /** Removes each prefix, in the given order, from keys that start with it. */
    public LoadOptions stripPrefix(String... prefixes) {
        List<String> s = new ArrayList<>(stripPrefixes);
        s.addAll(List.of(prefixes));
        return new LoadOptions(strict, selectPrefix, s, drops, dropDescriptions);
    }

    /** Ignores (rewritten) keys that start with {@code prefix}, e.g. {@code "fc."}. */
    public LoadOptions dropPrefix(String prefix) { return drop(k -> k.startsWith(prefix), "'" + prefix + "*'"); }

    /** Ignores (rewritten) keys that match {@code filter}; {@code description} appears in reports. */
    public LoadOptions drop(Predicate<String> filter, String description) {
        List<Predicate<String>> d = new ArrayList<>(drops);
        d.add(filter);
        List<String> ds = new ArrayList<>(dropDescriptions);
        ds.add(description);
        return new LoadOptions(strict, selectPrefix, stripPrefixes, d, ds);
    }

    public boolean isStrict() { return strict; }

    /** The rewritten key, or null when the key is to be ignored. */
    String rewrite(String key) {
        String k = key;
        if (selectPrefix != null) {
            if (!k.startsWith(selectPrefix)) return null;
            k = k.substring(selectPrefix.length());
        }
        for (String p : stripPrefixes) if (k.startsWith(p)) k = k.substring(p.length());
        for (Predicate<String> d : drops) if (d.test(k)) return null;
        return k;
    }

    @Override
    public String toString() {
        return "LoadOptions(strict=" + strict + (selectPrefix == null ? "" : ", select '" + selectPrefix + "'")
                + (stripPrefixes.isEmpty() ? "" : ", strip " + stripPrefixes)
                + (dropDescriptions.isEmpty() ? "" : ", drop " + dropDescriptions) + ")";
    }
}
