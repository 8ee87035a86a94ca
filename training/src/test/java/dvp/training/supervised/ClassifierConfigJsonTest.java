package dvp.training.supervised;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.training.distill.DistillSpec;
import dvp.training.run.Json;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** config.json holds the exact settings: a distill run's distillation settings survive the round trip. */
class ClassifierConfigJsonTest {
    @Test
    void distillationSettingsAreWrittenAndReadBack() throws Exception {
        ClassifierConfig c = ClassifierConfig.distillation().with(b -> b.distill = DistillSpec.defaults().withLambda(3e-4).withWarmupEpochs(2));
        JsonNode j = Json.tree(c);
        // isDistill() used to be written as "distill": true over the settings of the same name
        assertEquals(3e-4, j.get("distill").get("lambda").asDouble(), 0, j.toString());
        assertEquals(2, j.get("distill").get("warmupEpochs").asInt(), j.toString());
        assertFalse(j.has("linear"), j.toString());
        assertEquals(c, Json.MAPPER.treeToValue(j, ClassifierConfig.class));
    }
}
