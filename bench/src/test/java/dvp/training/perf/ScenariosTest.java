package dvp.training.perf;

import dvp.engine.Scope;
import dvp.engine.spi.Backends;
import dvp.training.run.BadInputException;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScenariosTest {
    @Test
    void resnet50HasFiftyThreeConvsInTwentyThreeDistinctShapesAt224() {
        Map<ConvScenario.Shape, Integer> m = ConvScenario.resnet50Convs(224);
        assertEquals(53, m.values().stream().mapToInt(Integer::intValue).sum(), "1 stem + 16 blocks x 3 + 4 downsamples");
        assertEquals(new ConvScenario.Shape(3, 64, 7, 2, 3, 224), m.keySet().iterator().next());
        assertTrue(m.containsKey(new ConvScenario.Shape(64, 64, 3, 1, 1, 56)), "layer1 3x3 at 56x56");
        assertTrue(m.containsKey(new ConvScenario.Shape(512, 512, 3, 1, 1, 7)), "layer4 3x3 at 7x7");
        assertEquals(2, m.get(new ConvScenario.Shape(512, 512, 3, 1, 1, 7)), "layer4 blocks 2 and 3");
        assertTrue(m.containsKey(new ConvScenario.Shape(1024, 2048, 1, 2, 0, 14)), "layer4 downsample");
        assertEquals(23, m.size());
    }

    @Test
    void badOptionsNameTheScenarioAndTheValue() {
        try (Scope s = Scope.open()) {
            assertEquals("batch must be positive, got 0", assertThrows(BadInputException.class,
                    () -> Scenarios.create("resnet18-train", Backends.cpu(), ScenarioOptions.defaults().withBatch(0))).getMessage());
            assertEquals("moco-step: queue 10 is not a multiple of the batch 4", assertThrows(BadInputException.class,
                    () -> Scenarios.create("moco-step", Backends.cpu(), new ScenarioOptions(4, 32, 0.125, "resnet18", 10, null, null, 0))).getMessage());
            assertTrue(assertThrows(BadInputException.class,
                    () -> Scenarios.create("gemm", Backends.cpu(), new ScenarioOptions(null, null, null, null, null, "2,x,3", null, 0)))
                    .getMessage().contains("--size must be M,N,K"));
            assertTrue(assertThrows(BadInputException.class,
                    () -> Scenarios.create("resnet18-train", Backends.cpu(), new ScenarioOptions(null, null, null, "resnet50", null, null, null, 0)))
                    .getMessage().contains("the architecture is resnet18"));
            assertTrue(assertThrows(BadInputException.class,
                    () -> Scenarios.create("distill-step", Backends.cpu(), new ScenarioOptions(2, 32, null, "vgg", null, null, null, 0)))
                    .getMessage().contains("unknown architecture 'vgg'"));
            // a failed build leaves no scope open: this scope still closes in order
            assertEquals(0, s.ownedCount());
        }
    }

    @Test
    void everyCatalogEntryHasADescription() {
        assertEquals(Scenarios.NAMES.size(), Scenarios.DESCRIPTIONS.size());
        for (int i = 0; i < Scenarios.NAMES.size(); i++) assertTrue(Scenarios.DESCRIPTIONS.get(i).startsWith(Scenarios.NAMES.get(i) + " "));
    }
}
