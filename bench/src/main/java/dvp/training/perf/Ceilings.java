package dvp.training.perf;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cpu.Parallel;
import dvp.engine.profile.ProfilingBackend;
import dvp.engine.spi.Backend;
import dvp.training.run.BuildInfo;
import dvp.training.run.Json;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The machine's measured ceilings that achieved rates are compared with: copy bandwidth (bytes
 * read + written per second by a large copy) and matrix rate (FLOP/s of our own best square
 * SGEMM). Measured once per device and cached in a small JSON file keyed by the device's name
 * ({@code ~/.cache/dvp/ceilings.json}, or under {@code $XDG_CACHE_HOME}); {@code --remeasure}
 * replaces an entry. The cached entry records the dvp commit it was measured with: the GEMM
 * ceiling is "our best GEMM" and moves when the GEMM gets faster.
 *
 * <p>How: on the CPU, copy = every worker thread of the kernels' pool copying its share of a
 * 256 MiB buffer with {@code MemorySegment.copy} (a memcpy); on a device, the backend's own
 * {@code copy} of 256 MiB tensors. GEMM = the backend's {@code matmul} at several square sizes.
 * Each figure is the best of several repetitions (a ceiling is what the machine can do, not what
 * it usually does). Device timings bracket batches of repetitions with {@code synchronize}.
 *
 * @param copyGBps     copy bandwidth, GB/s (10⁹ bytes), read + written bytes counted
 * @param matmulGflops best SGEMM rate, GFLOP/s, 2·M·N·K per product
 */
public record Ceilings(String key, String device, String backend, @JsonProperty("copy_gbps") double copyGBps,
                       @JsonProperty("matmul_gflops") double matmulGflops, @JsonProperty("matmul_size") int matmulSize,
                       @JsonProperty("copy_bytes") long copyBytes, @JsonProperty("measured_at") String measuredAt,
                       @JsonProperty("dvp_commit") String dvpCommit, String method) {

    static final long COPY_BYTES = 256L << 20;

    /** Default cache file: $XDG_CACHE_HOME/dvp/ceilings.json or ~/.cache/dvp/ceilings.json. */
    public static Path defaultCacheFile() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("dvp").resolve("ceilings.json");
    }

    /** The cache key of a device: backend and name (the name includes the CPU thread count). */
    public static String keyOf(RunEnvironment.DeviceInfo d) { return d.backend() + ": " + d.name(); }

    /**
     * The cached ceilings of this device, measuring (and caching) them when absent or when {@code remeasure}.
     * None (null) for a simulated device: a simulation has no hardware limit to compare with, and
     * its 8192³ GEMMs would run for hours.
     */
    public static Ceilings forDevice(Backend backend, RunEnvironment.DeviceInfo device, Path cacheFile, boolean remeasure,
                                     java.io.PrintWriter log) throws IOException {
        if (device.simulated()) {
            log.println("dvp: no ceilings on a simulated device (its figures are " + RunEnvironment.NOT_A_SPEED + "); % of ceiling columns stay empty");
            log.flush();
            return null;
        }
        String key = keyOf(device);
        Map<String, JsonNode> entries = read(cacheFile);
        JsonNode cached = entries.get(key);
        if (cached != null && !remeasure) {
            try {
                return Json.MAPPER.treeToValue(cached, Ceilings.class);
            } catch (IOException e) {
                log.println("dvp: ignoring a malformed entry for '" + key + "' in " + cacheFile + " (" + e.getMessage() + "); measuring again");
            }
        }
        log.println("dvp: measuring this device's ceilings once (copy bandwidth, best GEMM); cached in " + cacheFile);
        log.flush();
        Ceilings c = measure(backend, key, device.name());
        Map<String, Object> out = new LinkedHashMap<>(entries);
        out.put(key, c);
        Files.createDirectories(cacheFile.toAbsolutePath().getParent());
        Json.writeFile(cacheFile, out);
        return c;
    }

    private static Map<String, JsonNode> read(Path file) throws IOException {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        if (!Files.exists(file)) return m;
        JsonNode root;
        try {
            root = Json.readFile(file);
        } catch (IOException e) {
            // a cache is not worth failing for: it is rewritten below
            return m;
        }
        if (root != null && root.isObject()) root.properties().forEach(e -> m.put(e.getKey(), e.getValue()));
        return m;
    }

    /** Measures both ceilings now (a few seconds). */
    public static Ceilings measure(Backend backend, String key, String deviceName) {
        Backend be = backend instanceof ProfilingBackend p ? p.inner() : backend;
        boolean cpu = be.name().equals("cpu");
        double copy = cpu ? hostCopyGBps() : deviceCopyGBps(be);
        int[] sizes = cpu ? new int[]{512, 1024, 2048} : new int[]{2048, 4096, 8192};
        double best = 0;
        int bestSize = 0;
        for (int n : sizes) {
            double r = gemmGflops(be, n, 1.0);
            if (r > best) {
                best = r;
                bestSize = n;
            }
        }
        String method = (cpu ? "copy: " + Parallel.threads() + " threads MemorySegment.copy of 256 MiB, best of 10"
                : "copy: backend copy of 256 MiB tensors, best of 5 batches of 10") + "; gemm: backend matmul square sizes "
                + java.util.Arrays.toString(sizes) + ", best over ~1 s each after ~1 s of warm-up";
        return new Ceilings(key, deviceName, be.name(), copy, best, bestSize, COPY_BYTES, Instant.now().toString(),
                BuildInfo.get().gitCommit(), method);
    }

    static double hostCopyGBps() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment src = a.allocate(COPY_BYTES, 64), dst = a.allocate(COPY_BYTES, 64);
            src.fill((byte) 1);
            dst.fill((byte) 0); // touch every page before timing
            int parts = Parallel.threads();
            long chunk = (COPY_BYTES / parts) & ~63L;
            double best = 0;
            for (int rep = 0; rep < 11; rep++) {
                long t0 = System.nanoTime();
                Parallel.range(parts, (lo, hi) -> {
                    for (int i = lo; i < hi; i++) {
                        long off = i * chunk, len = i == parts - 1 ? COPY_BYTES - off : chunk;
                        MemorySegment.copy(src, off, dst, off, len);
                    }
                });
                long ns = System.nanoTime() - t0;
                if (rep > 0) best = Math.max(best, 2.0 * COPY_BYTES / ns); // bytes/ns = GB/s; first rep warms up
            }
            return best;
        }
    }

    static double deviceCopyGBps(Backend be) {
        try (Scope s = Scope.open("ceilings")) {
            int n = (int) (COPY_BYTES / 4);
            Tensor src = Tensor.zeros(be, n), dst = Tensor.empty(be, DType.F32, n);
            be.copy(src, dst);
            be.synchronize();
            double best = 0;
            for (int rep = 0; rep < 5; rep++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < 10; i++) be.copy(src, dst);
                be.synchronize();
                best = Math.max(best, 10 * 2.0 * COPY_BYTES / (System.nanoTime() - t0));
            }
            return best;
        }
    }

    /**
     * Best rate of n×n×n SGEMMs: repeated for about {@code seconds} after a warm-up of the same
     * length (JIT compilation of the CPU kernels, cuBLAS heuristics), at least 3 timed calls.
     */
    static double gemmGflops(Backend be, int n, double seconds) {
        try (Scope s = Scope.open("ceilings")) {
            // values do not change SGEMM's speed; filling on the device avoids building n² host values
            Tensor a = Tensor.full(be, 1.0 / n, n, n), b = Tensor.full(be, 0.5, n, n);
            Tensor c = Tensor.empty(be, DType.F32, n, n);
            long warmEnd = System.nanoTime() + (long) (seconds * 1e9);
            do {
                be.matmul(a, false, b, false, c, 1f, 0f);
                be.synchronize();
            } while (System.nanoTime() < warmEnd);
            double best = 0;
            long end = System.nanoTime() + (long) (seconds * 1e9);
            for (int rep = 0; rep < 3 || System.nanoTime() < end; rep++) {
                long t0 = System.nanoTime();
                be.matmul(a, false, b, false, c, 1f, 0f);
                be.synchronize();
                best = Math.max(best, 2.0 * n * n * (double) n / (System.nanoTime() - t0));
            }
            return best;
        }
    }
}
