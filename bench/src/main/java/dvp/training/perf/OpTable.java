package dvp.training.perf;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dvp.engine.profile.OpEvent;
import dvp.engine.profile.Span;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-op table of a profile: calls grouped by op name and shapes (or by name only), with total
 * and mean time, share of the step, bytes and FLOPs (from shapes), achieved rates and their share
 * of the machine's ceilings. Times are execution times ({@link OpEvent#deviceNanos()}: device time
 * on a device backend, wall time on the CPU) summed over the profiled steps.
 */
public record OpTable(List<Row> rows, int steps, double stepNanos, double opNanos, long callsOutsideSteps) {

    /**
     * @param shapes          the shapes line, or "" when grouped by name
     * @param totalMs         over all profiled steps
     * @param pctOfStep       total / total step time, in percent
     * @param bytesPerCall    compulsory bytes of one call (the mean when calls differ)
     * @param flopsPerCall    FLOPs of one call (the mean when calls differ)
     * @param gbps            total bytes / total time
     * @param pctOfCopy       gbps / the copy-bandwidth ceiling, percent (null without ceilings)
     * @param pctOfMatmul     gflops / the GEMM ceiling, percent (null without ceilings or FLOPs)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Row(String op, String shapes, long calls, @JsonProperty("total_ms") double totalMs, @JsonProperty("mean_us") double meanUs,
                      @JsonProperty("pct_of_step") double pctOfStep, @JsonProperty("bytes_per_call") double bytesPerCall,
                      @JsonProperty("flops_per_call") double flopsPerCall, @JsonProperty("total_bytes") long totalBytes,
                      @JsonProperty("total_flops") long totalFlops, double gbps, double gflops,
                      @JsonProperty("pct_of_copy_bandwidth") Double pctOfCopy, @JsonProperty("pct_of_matmul_rate") Double pctOfMatmul) {}

    /** Per-step share of time spent inside primitives (the rest is host work between them). */
    public double coveragePct() { return stepNanos == 0 ? 0 : 100 * opNanos / stepNanos; }

    /**
     * Aggregates the calls made inside {@code steps}; {@code byShapes} groups by op and shapes,
     * else by op. {@code ceilings} may be null (no percentages).
     */
    public static OpTable of(List<OpEvent> events, List<Span> steps, boolean byShapes, Ceilings ceilings) {
        double stepNs = steps.stream().mapToDouble(Span::deviceNanos).sum();
        record Acc(String op, String shapes, long[] calls, double[] ns, long[] bytes, long[] flops) {}
        Map<String, Acc> groups = new LinkedHashMap<>();
        double opNs = 0;
        long outside = 0;
        for (OpEvent e : events) {
            if (e.step() < 0) {
                outside++;
                continue;
            }
            String shapes = byShapes ? e.signature() : "";
            Acc a = groups.computeIfAbsent(e.name() + "\u0000" + shapes,
                    k -> new Acc(e.name(), shapes, new long[1], new double[1], new long[1], new long[1]));
            a.calls[0]++;
            a.ns[0] += e.deviceNanos();
            a.bytes[0] += e.bytes();
            a.flops[0] += e.flops();
            opNs += e.deviceNanos();
        }
        List<Row> rows = new ArrayList<>();
        for (Acc a : groups.values()) {
            double ns = a.ns[0];
            long calls = a.calls[0];
            double gbps = ns > 0 ? a.bytes[0] / ns : 0, gflops = ns > 0 ? a.flops[0] / ns : 0;
            Double pctCopy = ceilings != null && ceilings.copyGBps() > 0 ? 100 * gbps / ceilings.copyGBps() : null;
            Double pctMm = ceilings != null && ceilings.matmulGflops() > 0 && a.flops[0] > 0 ? 100 * gflops / ceilings.matmulGflops() : null;
            rows.add(new Row(a.op, a.shapes, calls, ns / 1e6, ns / calls / 1e3, stepNs > 0 ? 100 * ns / stepNs : 0,
                    (double) a.bytes[0] / calls, (double) a.flops[0] / calls, a.bytes[0], a.flops[0], gbps, gflops, pctCopy, pctMm));
        }
        rows.sort(Comparator.comparingDouble(Row::totalMs).reversed());
        return new OpTable(List.copyOf(rows), steps.size(), stepNs, opNs, outside);
    }
}
