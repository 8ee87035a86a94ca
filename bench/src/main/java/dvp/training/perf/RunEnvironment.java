package dvp.training.perf;

import com.fasterxml.jackson.annotation.JsonProperty;
import dvp.engine.cpu.CpuConvChoice;
import dvp.engine.cpu.Parallel;
import dvp.engine.profile.DeviceClockSource;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.engine.spi.BackendDiagnostics;
import dvp.engine.spi.Precision;
import dvp.training.run.BuildInfo;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a result was measured: the build of dvp, the machine and the compute device, as written
 * into every results file (docs/results-schema.md) so runs on different builds, machines or cards
 * are never compared unknowingly.
 */
public record RunEnvironment(Tool tool, Machine machine, DeviceInfo device) {
    /**
     * What every figure measured on a simulated device carries (issue 17): in the results file
     * (each figure's note), in the printed tables (a column on every row) and in reports and
     * charts (series labels): the CUDA simulator runs the device code on the CPU, so its times
     * measure the simulation, never the GPU.
     */
    public static final String NOT_A_SPEED = "simulated, not a speed";

    public record Tool(String name, String version, @JsonProperty("git_commit") String gitCommit, @JsonProperty("git_dirty") boolean gitDirty) {}

    public record Machine(String host, String os, String cpu, @JsonProperty("logical_cores") int logicalCores,
                          @JsonProperty("cpu_threads") int cpuThreads, @JsonProperty("memory_bytes") long memoryBytes,
                          String jdk, @JsonProperty("jdk_vendor") String jdkVendor) {}

    /**
     * @param name      the card (from the backend's diagnostics "device N" line) or the CPU model with its thread count
     * @param simulated whether the device is simulated ({@link Backend#simulated()}: the CUDA simulator, DVP_CUDA_SIM=1);
     *                  then every figure measured on it is labelled {@value #NOT_A_SPEED}
     * @param driver    the GPU driver version when the backend reports one, else null
     * @param timing    how op and step times were taken on this device
     * @param facts     every diagnostics line the backend reports (libraries, versions, memory)
     */
    public record DeviceInfo(String backend, String name, boolean simulated, String driver, String timing, Map<String, String> facts) {
        /** {@value #NOT_A_SPEED} on a simulated device, else null: what each figure row measured here carries. */
        public String label() { return simulated ? NOT_A_SPEED : null; }

        /** The line printed above the tables of a simulated device, else null. */
        public String simulatedWarning() {
            return simulated ? "SIMULATED device (" + name + "): every figure below is " + NOT_A_SPEED
                    + " (the CUDA simulator ran the device code on the CPU; its times measure the simulation, not a GPU)" : null;
        }
    }

    public static RunEnvironment of(Backend backend) {
        BuildInfo b = BuildInfo.get();
        Tool tool = new Tool("dvp", b.version(), b.gitCommit(), b.gitDirty());
        Machine m = new Machine(hostName(), System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                cpuModel(), Runtime.getRuntime().availableProcessors(), Parallel.threads(), physicalMemory(),
                Runtime.version().toString(), System.getProperty("java.vendor", "unknown"));
        return new RunEnvironment(tool, m, device(backend, m));
    }

    static DeviceInfo device(Backend backend, Machine m) {
        Backend inner = backend instanceof ProfilingBackend p ? p.inner() : backend;
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("availability", inner.availability().reason());
        String name = null, driver = null;
        if (inner instanceof BackendDiagnostics d) {
            try {
                for (BackendDiagnostics.Line l : d.diagnostics()) {
                    facts.put(l.label().strip(), l.value());
                    if (name == null && l.label().strip().startsWith("device")) name = firstField(l.value());
                    if (driver == null && l.label().toLowerCase(java.util.Locale.ROOT).contains("driver")) driver = l.value();
                }
            } catch (RuntimeException | LinkageError e) {
                facts.put("diagnostics", "failed: " + e);
            }
        }
        // what the run asked for and the backend does (--precision, --deterministic), on every backend
        var compute = inner.computeSettings();
        facts.put("precision", compute.precision().cliName());
        // the key gpu_baselines.py gives its AMP mode; what runs in bf16 is docs/cuda.md's "bf16 autocast" row
        if (compute.precision() == Precision.BF16)
            facts.put("autocast", "bf16 (conv/GEMM incl. margin-InfoNCE's; bf16 activations; fp32 master weights, no loss scaling)");
        facts.put("deterministic", compute.deterministic() ? "on" : "off");
        if (name == null) name = inner.name().equals("cpu")
                ? m.cpu() + " (" + m.cpuThreads() + " threads, convolutions: " + CpuConvChoice.active() + ")" : inner.name();
        String timing = inner instanceof DeviceClockSource ? "device events around each op and step (device time)"
                : "host wall clock (System.nanoTime); the backend runs each primitive to completion before returning";
        return new DeviceInfo(inner.name(), name, inner.simulated(), driver, timing, facts);
    }

    /** The text before the first comma outside parentheses ("dvp CUDA simulator (sm_90 limits, ...)" stays whole). */
    static String firstField(String s) {
        int depth = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') depth++;
            else if (c == ')') depth = Math.max(0, depth - 1);
            else if (c == ',' && depth == 0) return s.substring(0, i).strip();
        }
        return s.strip();
    }

    /** The CPU's model name (/proc/cpuinfo), or the architecture where that is not readable. */
    public static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    /** Physical memory in bytes (/proc/meminfo), or -1 when unknown. */
    public static long physicalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo")))
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
