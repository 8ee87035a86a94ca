package dvp.cli;

import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The exact configuration of a command as it ran: every option and parameter with its resolved value
 * (given on the command line, from an @-file, or defaulted), including the global ones. Written as
 * the run folder's config.json and into every checkpoint.
 */
public final class ResolvedConfig {
    private ResolvedConfig() {}

    public static Map<String, Object> of(CommandSpec spec) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", spec.qualifiedName());
        for (OptionSpec o : spec.options()) {
            if (o.usageHelp() || o.versionHelp()) continue;
            m.put(o.longestName().replaceFirst("^-+", ""), value(o));
        }
        for (PositionalParamSpec p : spec.positionalParameters())
            m.put(p.paramLabel().replaceAll("[<>]", "").toLowerCase(java.util.Locale.ROOT), value(p));
        return m;
    }

    private static Object value(ArgSpec a) {
        Object v = a.getValue();
        return v instanceof Enum<?> e ? e.name().toLowerCase(java.util.Locale.ROOT) : v;
    }
}
