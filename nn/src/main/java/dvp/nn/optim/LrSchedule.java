package dvp.nn.optim;

import java.util.Arrays;

/**
 * A learning-rate schedule as a pure function: the factor that multiplies each parameter group's
 * base lr at (epoch, step), epochs 0-based as PyTorch schedulers count them ({@code last_epoch}),
 * step = iteration within the epoch. Being pure, a resumed run gets the same lr from (epoch, step)
 * alone — no scheduler state to checkpoint. Apply with {@link #apply(Sgd, int, int)}.
 *
 * <p>The recipes of this project:
 * <ul>
 *   <li>MoCo v2 cosine: {@code cosine(epochs)} = ½(1 + cos(π·epoch/epochs));</li>
 *   <li>phase 1 literal: {@code multiStep(0.1, 120, 160)}; linear eval: {@code multiStep(0.1, 60, 80)};</li>
 *   <li>DVP phase 2, lr = 0.1·0.1^⌊epoch/30⌋ with 1-based epochs: {@code step(30, 0.1).shiftEpochs(1)}
 *       (= {@link #dvpPhase2()});</li>
 *   <li>Goyal-style warm-up: {@code linearWarmupSteps(5 * iters, iters, 0.1).times(multiStep(...))}.</li>
 * </ul>
 */
@FunctionalInterface
public interface LrSchedule {
    /** Multiplier of the base lr at (0-based epoch, step within the epoch). */
    double factor(int epoch, int step);

    /** Sets every group's lr for (epoch, step). */
    default void apply(Sgd optimizer, int epoch, int step) { optimizer.setLrFactor(factor(epoch, step)); }

    static LrSchedule constant() { return (e, s) -> 1.0; }

    /** PyTorch StepLR: γ^⌊epoch/stepSize⌋. */
    static LrSchedule step(int stepSize, double gamma) {
        if (stepSize <= 0) throw new IllegalArgumentException("StepLR: step size must be positive, got " + stepSize);
        return (e, s) -> Math.pow(gamma, Math.floorDiv(e, stepSize));
    }

    /** PyTorch MultiStepLR: γ^(number of milestones ≤ epoch). */
    static LrSchedule multiStep(double gamma, int... milestones) {
        int[] m = milestones.clone();
        Arrays.sort(m);
        return (e, s) -> {
            int passed = 0;
            for (int x : m) if (e >= x) passed++;
            return Math.pow(gamma, passed);
        };
    }

    /** PyTorch CosineAnnealingLR (closed form, η_min = 0) / MoCo's ½(1 + cos(π·epoch/epochs)). */
    static LrSchedule cosine(int epochs) { return cosine(epochs, 0.0); }

    /**
     * CosineAnnealingLR with η_min = {@code minFactor}·base lr:
     * min + (1 − min)·½(1 + cos(π·epoch/epochs)), per epoch.
     */
    static LrSchedule cosine(int epochs, double minFactor) {
        if (epochs <= 0) throw new IllegalArgumentException("cosine: epochs must be positive, got " + epochs);
        return (e, s) -> minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * e / epochs));
    }

    /**
     * PyTorch LinearLR per epoch: start + (1 − start)·min(epoch, epochs)/epochs, i.e. a linear ramp from
     * {@code startFactor} at epoch 0 to 1 at {@code epochs}, then 1.
     */
    static LrSchedule linearWarmupEpochs(int epochs, double startFactor) {
        if (epochs <= 0) throw new IllegalArgumentException("warm-up: epochs must be positive, got " + epochs);
        return (e, s) -> startFactor + (1 - startFactor) * Math.min(e, epochs) / (double) epochs;
    }

    /**
     * Linear warm-up per iteration: with t = epoch·stepsPerEpoch + step, start + (1 − start)·min(t, steps)/steps.
     */
    static LrSchedule linearWarmupSteps(int steps, int stepsPerEpoch, double startFactor) {
        if (steps <= 0 || stepsPerEpoch <= 0)
            throw new IllegalArgumentException("warm-up: steps and steps per epoch must be positive, got " + steps + ", " + stepsPerEpoch);
        return (e, s) -> {
            long t = (long) e * stepsPerEpoch + s;
            return startFactor + (1 - startFactor) * Math.min(t, steps) / (double) steps;
        };
    }

    /** DVP phase 2 (train_selfsup.py): 0.1^⌊epoch₁/30⌋ with the 1-based epoch₁ = epoch + 1; base lr 0.1. */
    static LrSchedule dvpPhase2() { return step(30, 0.1).shiftEpochs(1); }

    /** The product of both factors (PyTorch ChainedScheduler for multiplicative schedules): warm-up × decay. */
    default LrSchedule times(LrSchedule other) { return (e, s) -> factor(e, s) * other.factor(e, s); }

    /** Evaluates this schedule at epoch + offset (offset 1 turns a 1-based rule into a 0-based one). */
    default LrSchedule shiftEpochs(int offset) { return (e, s) -> factor(e + offset, s); }

    /** PyTorch SequentialLR: this schedule before {@code epoch}, then {@code next} counting from 0 at {@code epoch}. */
    default LrSchedule then(int epoch, LrSchedule next) {
        return (e, s) -> e < epoch ? factor(e, s) : next.factor(e - epoch, s);
    }
}
