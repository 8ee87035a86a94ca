package dvp.engine.cpu;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Contrastive;
import dvp.engine.ops.Distill;

import java.util.Arrays;

import static dvp.engine.testing.Tensors.cpu;

/**
 * Prints the exact bits of the two fused losses and their gradients on fixed inputs; run in
 * child JVMs with different {@code dvp.threads} by {@link LossThreadCountDeterminismTest}.
 */
public final class LossBitsMain {
    private LossBitsMain() {}

    public static void main(String[] args) {
        System.out.println(bits());
    }

    static String bits() {
        try (Scope s = Scope.open("bits")) {
            Rng rng = new Rng(99);
            int n = 2, c = 32, hw = 28 * 28;
            Tensor st = Tensor.of(cpu(), rng.normal(n * c * hw, 0, 1), n, c, 28, 28).requiresGrad(true);
            Tensor tt = Tensor.of(cpu(), rng.normal(n * c * hw, 0, 1), n, c, 28, 28);
            float[] m = new float[c];
            for (int i = 0; i < c; i++) m[i] = (float) Distill.ofdMargin(rng.uniform(0.2, 1.5), rng.uniform(-1, 2));
            Tensor ofd = Distill.ofdLoss(st, tt, Tensor.of(cpu(), m, c), 0.125f);
            ofd.backward();
            int rows = 13, d = 32, k = 300;
            Tensor q = Tensor.of(cpu(), rng.normal(rows * d, 0, 0.125), rows, d).requiresGrad(true);
            Tensor kp = Tensor.of(cpu(), rng.normal(rows * d, 0, 0.125), rows, d);
            Tensor queue = Tensor.of(cpu(), rng.normal(k * d, 0, 0.125), k, d);
            Contrastive.InfoNce nce = Contrastive.marginInfoNce(q, kp, queue, 0.4f, 0.07f);
            nce.loss().backward();
            return String.format("ofd %08x %08x nce %08x %08x %08x", Float.floatToRawIntBits(ofd.item()),
                    Arrays.hashCode(st.grad().toFloatArray()), Float.floatToRawIntBits(nce.loss().item()),
                    Float.floatToRawIntBits(nce.accuracy().item()), Arrays.hashCode(q.grad().toFloatArray()));
        }
    }
}
