package dvp.training.loop;

import dvp.nn.optim.LrSchedule;
import dvp.training.run.BadInputException;

import java.util.List;

/**
 * A per-epoch learning-rate schedule as configuration: {@code cosine} (MoCo v2's
 * ½(1 + cos(π·epoch/epochs)), no warm-up), {@code steps} (×gamma at each milestone, 0-based
 * epochs, PyTorch's MultiStepLR) or {@code constant}. Factories give each phase's recipe scaled to
 * the run's length, so a short run keeps the shape of the 100-epoch schedule.
 *
 * @param milestones 0-based epochs at which the lr is multiplied by gamma (steps only)
 */
public record ScheduleSpec(String kind, List<Integer> milestones, double gamma) {
    public ScheduleSpec {
        kind = kind == null ? "cosine" : kind.toLowerCase(java.util.Locale.ROOT);
        milestones = milestones == null ? List.of() : List.copyOf(milestones);
    }

    public static ScheduleSpec cosine() { return new ScheduleSpec("cosine", List.of(), 0.1); }

    public static ScheduleSpec constant() { return new ScheduleSpec("constant", List.of(), 0.1); }

    public static ScheduleSpec steps(double gamma, Integer... milestones) { return new ScheduleSpec("steps", List.of(milestones), gamma); }

    /**
     * ×0.1 when the 1-based epoch reaches each of {@code fractions}·epochs, rounded up (DVP phase 2:
     * lr = 0.1·0.1^⌊epoch₁/30⌋ for 100 epochs, i.e. 0-based milestones 29, 59, 89). The first epoch
     * always runs at the base lr, however short the run.
     */
    public static ScheduleSpec stepsAtOneBased(int epochs, double... fractions) {
        List<Integer> m = new java.util.ArrayList<>();
        for (double f : fractions) {
            int oneBased = (int) Math.ceil(f * epochs - 1e-9);
            if (oneBased >= 2 && oneBased <= epochs && !m.contains(oneBased - 1)) m.add(oneBased - 1);
        }
        return new ScheduleSpec("steps", m, 0.1);
    }

    /** ×0.1 at the 0-based epochs {@code fractions}·epochs (linear eval: 60/80 of 100). */
    public static ScheduleSpec stepsAtZeroBased(int epochs, double... fractions) {
        List<Integer> m = new java.util.ArrayList<>();
        for (double f : fractions) {
            int e = (int) Math.round(f * epochs);
            if (e >= 1 && e < epochs && !m.contains(e)) m.add(e);
        }
        return new ScheduleSpec("steps", m, 0.1);
    }

    public void validate() {
        switch (kind) {
            case "cosine", "constant" -> {}
            case "steps" -> {
                if (!(gamma > 0 && gamma <= 1)) throw new BadInputException("--lr-gamma must be in (0, 1], got " + gamma);
                for (int m : milestones) if (m < 0) throw new BadInputException("--lr-milestones must be >= 0, got " + milestones);
            }
            default -> throw new BadInputException("--schedule must be cosine, steps or constant, got '" + kind + "'");
        }
    }

    public LrSchedule build(int epochs) {
        validate();
        return switch (kind) {
            case "cosine" -> LrSchedule.cosine(epochs);
            case "constant" -> LrSchedule.constant();
            default -> LrSchedule.multiStep(gamma, milestones.stream().mapToInt(Integer::intValue).toArray());
        };
    }

    @Override
    public String toString() { return kind.equals("steps") ? "steps x" + gamma + " at " + milestones : kind; }
}
