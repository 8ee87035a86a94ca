package dvp.engine.autograd;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Reductions;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class TapeProbeTest {
    @Test void findsOpInputsInForwardOrder() {
        try (Scope s = Scope.open("probe")) {
            Tensor x = Tensor.of(cpu(), new float[]{-1, 2}, 2).requiresGrad(true);
            Tensor a = Elementwise.relu(x);
            Tensor b = Elementwise.scale(a, 3f);
            Tensor c = Elementwise.relu(Elementwise.add(b, a)); // a is reached twice
            Tensor loss = Reductions.sum(Elementwise.relu(c));
            List<Tensor[]> relus = TapeProbe.inputsOf(loss, "relu");
            assertEquals(3, relus.size());
            assertSame(x, relus.get(0)[0]);
            assertSame(c, relus.get(2)[0]);
            assertEquals(List.of(), TapeProbe.inputsOf(x, "relu"), "a leaf has no graph");
        }
    }
}
