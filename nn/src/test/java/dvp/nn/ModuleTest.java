package dvp.nn;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {
    private Scope scope;
    private final Rng rng = new Rng(3);

    @BeforeEach void open() { scope = Scope.open("test"); }

    @AfterEach void close() { scope.close(); }

    /** conv → bn → relu → Sequential(linear) like a torch module tree. */
    static final class Net extends Module {
        final Conv2d conv;
        final BatchNorm2d bn;
        final Sequential head;

        Net(Rng rng) {
            conv = registerModule("conv", new Conv2d(2, 4, 3, 1, 1, 1, true, Conv2d.WeightInit.PYTORCH_DEFAULT, rng));
            bn = registerModule("bn", new BatchNorm2d(4));
            registerModule("act", new ReLU());
            head = registerModule("head", new Sequential(new Flatten(), new Linear(4 * 3 * 3, 5, rng)));
        }

        @Override
        public Tensor forward(Tensor x) { return head.forward(namedChildren().get("act").forward(bn.forward(conv.forward(x)))); }
    }

    @Test
    void keysFollowRegistrationOrderLikeTorch() {
        Net net = new Net(rng);
        assertEquals(List.of("conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                "bn.num_batches_tracked", "head.1.weight", "head.1.bias"), List.copyOf(net.stateDict().keySet()));
        assertEquals(List.of("conv.weight", "conv.bias", "bn.weight", "bn.bias", "head.1.weight", "head.1.bias"),
                List.copyOf(net.namedParameters().keySet()));
        assertEquals(List.of("bn.running_mean", "bn.running_var", "bn.num_batches_tracked"), List.copyOf(net.namedBuffers().keySet()));
        assertEquals(List.of("", "conv.", "bn.", "act.", "head.", "head.0.", "head.1."), List.copyOf(net.namedModules().keySet()));
        Tensor nbt = net.tensor("bn.num_batches_tracked");
        assertEquals(DType.I64, nbt.dtype());
        assertEquals(0, nbt.rank());
        for (Tensor p : net.parameters()) assertTrue(p.requiresGrad() && p.isLeaf());
        assertEquals(4 * 2 * 9 + 4 + 4 + 4 + 5 * 36 + 5, net.parameterCount());
        assertSame(net.conv.weight(), net.stateDict().get("conv.weight"), "state dict values are the live tensors");
        assertSame(net.bn, net.module("bn"));
    }

    @Test
    void trainEvalAndRequiresGradRecurse() {
        Net net = new Net(rng);
        assertTrue(net.bn.isTraining());
        net.eval();
        assertFalse(net.bn.isTraining());
        assertFalse(net.head.get(1).isTraining());
        net.train();
        assertTrue(net.head.get(1).isTraining());
        net.requiresGrad(false);
        for (Tensor p : net.parameters()) assertFalse(p.requiresGrad());
    }

    @Test
    void batchCounterAppearsInStateAndSurvivesLoad() {
        Net net = new Net(rng);
        Tensor x = randn(rng, 3, 2, 3, 3);
        net.forward(x);
        net.forward(x);
        assertEquals(2, net.bn.numBatchesTracked());
        assertEquals(2L, net.stateDict().get("bn.num_batches_tracked").toLongArray()[0]);
        net.eval();
        net.forward(x);
        assertEquals(2, net.bn.numBatchesTracked(), "eval does not count");
        Net other = new Net(new Rng(99));
        other.loadStateDict(net.stateDict(), true);
        assertEquals(2, other.bn.numBatchesTracked());
    }

    @Test
    void registrationRejectsBadNames() {
        assertThrows(IllegalArgumentException.class, () -> new Sequential(new ReLU()) {
            { registerModule("0", new ReLU()); }
        });
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerBuffer("a.b", Tensor.zeros(1)); }
            @Override public Tensor forward(Tensor x) { return x; }
        });
        assertThrows(UnsupportedOperationException.class, () -> new ModuleList(List.of(new ReLU())).forward(Tensor.zeros(1)));
    }

    @Test
    void zeroGradFillsExistingGradients() {
        Net net = new Net(rng);
        dvp.engine.ops.Reductions.sum(net.forward(randn(rng, 2, 2, 3, 3))).backward();
        Tensor g = net.conv.weight().grad();
        net.zeroGrad();
        assertSame(g, net.conv.weight().grad(), "gradient memory is reused");
        for (float v : g.toFloatArray()) assertEquals(0f, v);
    }
}
