package dvp.cli.perf;

import dvp.training.perf.Ceilings;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Where the device's measured ceilings are cached, or {@code none}. */
public final class CeilingsOptions {
    @Option(names = "--ceilings", paramLabel = "FILE|none",
            description = "Cache of this device's measured copy bandwidth and best-GEMM rate (measured on first use, a few seconds), "
                    + "or 'none' to report no %% of ceilings. Default: $XDG_CACHE_HOME/dvp/ceilings.json or ~/.cache/dvp/ceilings.json.")
    String ceilings;

    @Option(names = "--remeasure-ceilings", description = "Measure the ceilings again and replace the cached entry (after a GEMM change, or on a quiet machine).")
    boolean remeasure;

    /** The cache file, or null for none. */
    Path file() {
        if (ceilings == null) return Ceilings.defaultCacheFile();
        return ceilings.equals("none") ? null : Path.of(ceilings);
    }
}
