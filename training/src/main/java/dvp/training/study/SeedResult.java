package dvp.training.study;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one seed of a study measured ({@code seed-<s>/seed.json}). The PyTorch twin
 * (bench/pytorch/dvp_twin.py) writes the same file, so both are aggregated by the same code.
 * Accuracies are fractions in [0, 1]; NaN where a split is missing.
 *
 * @param implementation {@code dvp} or {@code pytorch-twin}
 * @param seed           the training seed (weight init, data order, augmentation, key shuffling)
 * @param splitSeed      the seed of the train/val draw
 * @param rows           Table 1's rows by key ({@link #ROWS}: supervised, linear, finetune, distill)
 * @param phase1         the last phase-1 epoch's means: loss, acc1_margin, acc5_margin, acc1, acc5
 * @param phase2         the last phase-2 epoch's means per image of its loss terms: ce, distill and each
 *                       stage's share distill_1..distill_4 (λ/B·w_i·d_i); empty in files written before it
 * @param seconds        wall time of the whole seed, phase 1 included
 */
public record SeedResult(String implementation, long seed, long splitSeed, Map<String, Row> rows, Map<String, Double> phase1,
                         Map<String, Double> phase2, double seconds, double cpuSeconds) {
    /** Table 1's rows in the paper's order, with their labels. */
    public static final List<String> ROWS = List.of("supervised", "linear", "finetune", "distill");

    public static String label(String row) {
        return switch (row) {
            case "supervised" -> "Supervised (random init)";
            case "linear" -> "Phase-1 + linear (finetune fc)";
            case "finetune" -> "Phase-1 + finetune";
            case "distill" -> "Phase-1 + Phase-2 (ours)";
            default -> row;
        };
    }

    /** The phase-1 numbers every seed reports, in table order. */
    public static final List<String> PHASE1 = List.of("loss", "acc1_margin", "acc5_margin", "acc1", "acc5");

    /** Phase 2's loss terms every seed reports, in table order. */
    public static final List<String> PHASE2 = List.of("ce", "distill", "distill_1", "distill_2", "distill_3", "distill_4");

    /**
     * One row of one seed: top-1 on validation after the last epoch and at the best validated
     * epoch, top-1/top-5 on the test set, top-1 on the training images themselves (centre crop,
     * as validation: how far the model fits what it trained on), the row's wall time.
     */
    public record Row(@JsonProperty("val_top1_last") double valTop1Last, @JsonProperty("val_top1_best") double valTop1Best,
                      @JsonProperty("test_top1") double testTop1, @JsonProperty("test_top5") double testTop5,
                      @JsonProperty("train_top1") double trainTop1, double seconds) {
        /** The named metric ({@link Metric}). */
        public double get(Metric m) {
            return switch (m) {
                case TEST_TOP1 -> testTop1;
                case VAL_TOP1 -> valTop1Last;
                case TRAIN_TOP1 -> trainTop1;
                case TEST_TOP5 -> testTop5;
            };
        }
    }

    /** The per-row numbers a study aggregates. */
    public enum Metric {
        TEST_TOP1("test top-1"), VAL_TOP1("val top-1 (last epoch)"), TRAIN_TOP1("train top-1"), TEST_TOP5("test top-5");

        public final String label;

        Metric(String label) { this.label = label; }
    }

    public SeedResult {
        rows = rows == null ? Map.of() : new LinkedHashMap<>(rows);
        phase1 = phase1 == null ? Map.of() : new LinkedHashMap<>(phase1);
        phase2 = phase2 == null ? Map.of() : new LinkedHashMap<>(phase2);
    }
}
