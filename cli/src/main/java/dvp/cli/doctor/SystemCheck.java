package dvp.cli.doctor;

import dvp.engine.cpu.Parallel;
import dvp.training.perf.RunEnvironment;
import dvp.training.run.BuildInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The tool, the JDK, the OS, CPU, threads and memory. */
final class SystemCheck implements DoctorCheck {
    @Override
    public int order() { return 10; }

    @Override
    public List<Finding> run() {
        List<Finding> f = new ArrayList<>();
        f.add(Finding.info("dvp", BuildInfo.get().describe()));
        Runtime.Version v = Runtime.version();
        String jdk = v + " (" + System.getProperty("java.vendor") + ") at " + System.getProperty("java.home");
        f.add(v.feature() >= 25 ? Finding.ok("java", jdk) : Finding.fail("java", jdk + ": dvp needs JDK 25 or newer"));
        f.add(Finding.info("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch")));
        f.add(Finding.info("cpu", RunEnvironment.cpuModel() + "; " + Runtime.getRuntime().availableProcessors() + " logical cores available to the JVM"));
        f.add(vectorApi());
        f.add(Finding.info("threads", Parallel.threads() + " CPU worker threads (system property dvp.threads overrides)"));
        f.add(Finding.info("memory", String.format(Locale.ROOT, "max Java heap %.1f GiB; physical memory %s",
                Runtime.getRuntime().maxMemory() / 1073741824.0, physicalMemory())));
        return f;
    }

    private static Finding vectorApi() {
        try {
            var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
            return Finding.ok("vector", "Vector API on: " + species.vectorBitSize() + "-bit float vectors (" + species.length() + " lanes)");
        } catch (LinkageError e) {
            return Finding.fail("vector", "Vector API missing: start the JVM with --add-modules=jdk.incubator.vector (./dvp does)");
        }
    }

    private static String physicalMemory() {
        long b = RunEnvironment.physicalMemory();
        return b < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f GiB", b / 1073741824.0);
    }
}
