package dvp.cli.train;

import picocli.CommandLine.Option;

/**
 * {@code --cuda-graph} / {@code --no-cuda-graph} of the training commands: whether a CUDA run
 * captures its training step as one CUDA graph and replays it (dvp.training.loop.GraphedStep). It
 * changes how the step is launched, not what it computes (replays are bit-identical to the op-by-op
 * step), so it may change on --resume.
 */
public final class CudaGraphOption {
    @Option(names = "--cuda-graph", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "On --device cuda, run each training step (forward, backward, optimizer; MoCo: both encoders, loss, enqueue, "
                    + "EMA) as one captured CUDA graph, replayed with one launch (the first two steps of each batch shape run op by op, "
                    + "then it is captured). --no-cuda-graph runs every op separately. No effect on the CPU, and off under --profile/--nvtx "
                    + "(which time single ops). Default: on.")
    boolean cudaGraph = true;

    /** Whether to capture: the switch, and no per-op profiling (a graph hides the ops the profiler times). */
    public boolean enabled(boolean profiling) { return cudaGraph && !profiling; }
}
