package dvp.training.run;

import dvp.engine.spi.Backend;

/**
 * Everything about the software and machine that produced a run or a checkpoint, stored beside
 * it so a result can be traced back (and a resume on a different build is visible).
 *
 * @param compute how the backend computed ({@code --precision}, {@code --deterministic}, as it
 *                reports them: "precision fp32, deterministic off"); null in records written before
 *                it existed
 */
public record Versions(String tool, String gitCommit, boolean gitDirty, String jdk, String jdkVendor,
                       String os, String arch, int cpus, String backend, String backendDetail, String compute) {

    public static Versions current(Backend backend) {
        BuildInfo b = BuildInfo.get();
        return new Versions(b.version(), b.gitCommit(), b.gitDirty(),
                Runtime.version().toString(), System.getProperty("java.vendor", "unknown"),
                System.getProperty("os.name") + " " + System.getProperty("os.version"),
                System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors(),
                backend == null ? "none" : backend.name(),
                backend == null ? "" : backend.availability().reason(),
                backend == null ? null : backend.computeSettings().describe());
    }
}
