package dvp.nn.models;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Our state-dict keys, order, dtypes and shapes against torchvision 0.14's, recorded by
 * {@code nn/src/test/python/torchvision_keys.py} into {@code resources/dvp/nn/models/*.keys.txt}.
 */
class TorchvisionKeysTest {
    record Entry(String key, String dtype, String shape) {}

    static List<Entry> torchvision(String arch) throws IOException {
        String res = "/dvp/nn/models/" + arch + ".keys.txt";
        try (InputStream in = TorchvisionKeysTest.class.getResourceAsStream(res)) {
            assertNotNull(in, "missing test resource " + res + " (regenerate with nn/src/test/python/torchvision_keys.py)");
            List<Entry> out = new ArrayList<>();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) continue;
                String[] p = line.split(" ", -1);
                out.add(new Entry(p[0], p[1], p[2]));
            }
            return out;
        }
    }

    static List<Entry> ours(Map<String, Tensor> sd, boolean withShapes) {
        List<Entry> out = new ArrayList<>();
        sd.forEach((k, v) -> out.add(new Entry(k, v.dtype().name(),
                withShapes ? String.join(",", Arrays.stream(v.shape()).mapToObj(Integer::toString).toList()) : "")));
        return out;
    }

    /** Full width: keys, order, dtypes and every shape equal torchvision's. */
    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "resnet50", "resnext50_32x4d"})
    void fullWidthStateDictEqualsTorchvision(String arch) throws IOException {
        try (Scope s = Scope.open("model")) {
            ResNet m = ResNet.builder(ResNet.Arch.fromName(arch)).build(new Rng(1));
            assertEquals(torchvision(arch), ours(m.stateDict(), true));
        }
    }

    /** Every architecture at a tiny width: same keys, order and dtypes (shapes scale with the width). */
    @ParameterizedTest
    @EnumSource(ResNet.Arch.class)
    void everyArchitectureHasTorchvisionKeys(ResNet.Arch arch) throws IOException {
        try (Scope s = Scope.open("model")) {
            ResNet m = ResNet.builder(arch).widthMultiplier(arch.groups > 1 ? 0.25 : 1.0 / 16).numClasses(3).build(new Rng(2));
            List<Entry> expected = torchvision(arch.torchvisionName()).stream().map(e -> new Entry(e.key(), e.dtype(), "")).toList();
            assertEquals(expected, ours(m.stateDict(), false));
        }
    }

    @Test
    void resnet18Has62ParametersAnd60Buffers() {
        try (Scope s = Scope.open("model")) {
            ResNet m = ResNet.builder(ResNet.Arch.RESNET18).widthMultiplier(0.125).build(new Rng(3));
            assertEquals(62, m.namedParameters().size());
            assertEquals(60, m.namedBuffers().size());
            assertEquals(122, m.stateDict().size());
        }
    }
}
