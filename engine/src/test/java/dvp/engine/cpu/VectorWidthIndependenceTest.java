package dvp.engine.cpu;

import dvp.engine.testing.ChildJvm;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CPU backend gives the same bits on every vector width: every case of
 * {@link ThreadCountIndependenceTest} (SGEMM, convolutions, batch norm, pooling, reductions,
 * cross-entropy, margin-InfoNCE, OFD; outputs and gradients) runs in child JVMs whose
 * {@code -XX:MaxVectorSize} makes the preferred float vector 4, 8 and (on AVX-512) 16 lanes wide,
 * and all of them must print the same bits. So a run resumed on an AVX2 machine continues exactly
 * as on the AVX-512 machine that wrote the checkpoint.
 */
class VectorWidthIndependenceTest {
    /** Lanes reported by the child, and its "case: output" -> bits hash lines. */
    private record Child(int lanes, Map<String, String> bits) {}

    private static Child run(int maxVectorBytes) throws Exception {
        String out = ChildJvm.output("-XX:MaxVectorSize=" + maxVectorBytes, VectorWidthBitsMain.class);
        int lanes = -1;
        Map<String, String> bits = new LinkedHashMap<>();
        for (String line : out.lines().toList()) {
            if (line.startsWith("lanes ")) lanes = Integer.parseInt(line.substring(6).trim());
            if (line.startsWith("bits | ")) {
                String[] f = line.split(" \\| ");
                bits.put(f[1], f[2] + " (" + f[3] + " values)");
            }
        }
        assertTrue(lanes > 0 && !bits.isEmpty(), "unexpected child output:\n" + out);
        return new Child(lanes, bits);
    }

    @Test void sameBitsWithFourEightAndSixteenFloatLanes() throws Exception {
        List<Child> children = new ArrayList<>();
        for (int bytes : new int[]{16, 32, 64}) children.add(run(bytes));
        List<Integer> lanes = children.stream().map(Child::lanes).distinct().toList();
        assumeTrue(lanes.size() >= 2, "this CPU offers only " + lanes + " float lanes: nothing to compare");
        Child reference = children.getLast();
        List<String> differ = new ArrayList<>();
        for (Child c : children) {
            if (c.lanes() == reference.lanes()) continue;
            assertEquals(reference.bits().keySet(), c.bits().keySet(), "the same outputs with " + c.lanes() + " lanes");
            reference.bits().forEach((k, v) -> {
                if (!v.equals(c.bits().get(k))) differ.add(k + ": " + c.lanes() + " lanes vs " + reference.lanes());
            });
        }
        assertTrue(differ.isEmpty(), "results depend on the vector width:\n  " + String.join("\n  ", differ));
        assertTrue(reference.bits().size() > 50, "every case ran: " + reference.bits().size() + " outputs");
    }
}
