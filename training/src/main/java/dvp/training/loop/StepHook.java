package dvp.training.loop;

/**
 * Work done around every training step by something outside the loop: the {@code --profile} /
 * {@code --nvtx} step profiler of the benchmark suite (the bench module), which the training
 * module does not depend on.
 */
public interface StepHook {
    /** Before the step numbered {@code step} (0-based) runs. */
    void beforeStep(long step);

    /** After it ran. */
    void afterStep(long step);
}
