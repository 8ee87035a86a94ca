package dvp.training.model;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.training.run.BadInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelSpecTest {
    @Test
    void aWidthTooSmallForResNeXtGroupsIsBadInputNamingTheNetwork() {
        // stage 1: planes round(64·0.1) = 6, inner width int(6·4/64)·32 = 0 channels
        ModelSpec spec = ModelSpec.of("resnext50_32x4d").withWidth(0.1);
        spec.validate(); // every field is in range on its own
        try (Scope s = Scope.open("t")) {
            BadInputException e = assertThrows(BadInputException.class, () -> spec.build(10, new Rng(0)));
            assertTrue(e.getMessage().startsWith("cannot build resnext50_32x4d (width 0.1): ") && e.getMessage().contains("larger width multiplier"),
                    e.getMessage());
        }
    }
}
