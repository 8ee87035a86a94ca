package dvp.training.perf;

/**
 * Knobs of a {@link Scenario}; a null field means "the scenario's default for this device" (small
 * on the CPU, issue 8's sizes — batch 256 at 224 px — on a GPU). Each scenario reports the values
 * it resolved in {@link Scenario#settings()}, so a results file always holds the real ones.
 *
 * @param batch      images per step (rows N for margin-infonce)
 * @param resolution input height = width in pixels
 * @param width      ResNet width multiplier (1 = torchvision)
 * @param arch       torchvision name of the backbone of moco-step / distill-step / conv ("resnet50")
 * @param queue      MoCo queue length K (moco-step, margin-infonce)
 * @param size       GEMM shape "M,N,K" (gemm); conv shapes come from the architecture
 * @param classes    classifier outputs of the training scenarios
 * @param seed       every random choice (weights, inputs)
 * @param cudaGraph  the training scenarios' step captured once as a CUDA graph and replayed per run
 *                   (dvp.training.loop.GraphedStep, as the trainers run it); no effect off the CUDA backend
 * @param channelsLast the training scenarios' networks run channels-last ({@code ResNet.channelsLast}, as
 *                   the trainers' --channels-last); their settings record {@code memory_format} either way
 */
public record ScenarioOptions(Integer batch, Integer resolution, Double width, String arch, Integer queue, String size,
                              Integer classes, long seed, boolean cudaGraph, boolean channelsLast) {
    /** Op-by-op steps (no CUDA graph), NCHW. */
    public ScenarioOptions(Integer batch, Integer resolution, Double width, String arch, Integer queue, String size, Integer classes, long seed) {
        this(batch, resolution, width, arch, queue, size, classes, seed, false, false);
    }

    /** NCHW. */
    public ScenarioOptions(Integer batch, Integer resolution, Double width, String arch, Integer queue, String size, Integer classes, long seed,
                           boolean cudaGraph) {
        this(batch, resolution, width, arch, queue, size, classes, seed, cudaGraph, false);
    }

    public static ScenarioOptions defaults() { return new ScenarioOptions(null, null, null, null, null, null, null, 0); }

    public ScenarioOptions withBatch(Integer b) { return new ScenarioOptions(b, resolution, width, arch, queue, size, classes, seed, cudaGraph, channelsLast); }

    public ScenarioOptions withResolution(Integer r) { return new ScenarioOptions(batch, r, width, arch, queue, size, classes, seed, cudaGraph, channelsLast); }

    public ScenarioOptions withWidth(Double w) { return new ScenarioOptions(batch, resolution, w, arch, queue, size, classes, seed, cudaGraph, channelsLast); }

    public ScenarioOptions withSeed(long s) { return new ScenarioOptions(batch, resolution, width, arch, queue, size, classes, s, cudaGraph, channelsLast); }

    public ScenarioOptions withCudaGraph(boolean g) { return new ScenarioOptions(batch, resolution, width, arch, queue, size, classes, seed, g, channelsLast); }

    public ScenarioOptions withChannelsLast(boolean c) { return new ScenarioOptions(batch, resolution, width, arch, queue, size, classes, seed, cudaGraph, c); }

    int batchOr(int cpu, int gpu, boolean onGpu) { return positive("batch", batch != null ? batch : onGpu ? gpu : cpu); }

    int resolutionOr(int cpu, int gpu, boolean onGpu) { return positive("resolution", resolution != null ? resolution : onGpu ? gpu : cpu); }

    double widthOr1() {
        double w = width != null ? width : 1.0;
        if (!(w > 0) || Double.isInfinite(w)) throw new IllegalArgumentException("width multiplier must be positive, got " + w);
        return w;
    }

    int queueOr(int cpu, int gpu, boolean onGpu) { return positive("queue", queue != null ? queue : onGpu ? gpu : cpu); }

    int classesOr(int d) { return positive("classes", classes != null ? classes : d); }

    static int positive(String what, int v) {
        if (v <= 0) throw new IllegalArgumentException(what + " must be positive, got " + v);
        return v;
    }
}
