package dvp.training.moco;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Contrastive;
import dvp.engine.ops.Norm;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Phase 1's top-k of the positive key, margin-adjusted and plain, against a direct count on the host. */
class ContrastiveAccuracyTest {
    private static final Backend CPU = Backends.cpu();

    /** Fraction of rows whose positive (minus shift) has fewer than k queue keys strictly above it. */
    private static double hostTopK(float[] q, float[] k, float[] queue, int n, int d, int keys, float shift, int topK) {
        int hits = 0;
        for (int i = 0; i < n; i++) {
            double pos = 0;
            for (int c = 0; c < d; c++) pos += q[i * d + c] * k[i * d + c];
            pos -= shift;
            int above = 0;
            for (int j = 0; j < keys; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += q[i * d + c] * queue[j * d + c];
                if (s > pos) above++;
            }
            if (above < topK) hits++;
        }
        return (double) hits / n;
    }

    @Test
    void matchesAHostCountAndTheFusedLossesTop1() {
        int n = 37, d = 16, keys = 45; // odd sizes
        try (Scope s = Scope.open("test")) {
            Rng rng = new Rng(11);
            Tensor q = Norm.l2Normalize(Tensor.of(CPU, rng.fork(1).normal(n * d, 0, 1), n, d));
            // positives near their queries, so that every rank from first to last occurs
            float[] qv = q.toFloatArray(), noise = rng.fork(2).normal(n * d, 0, 1), kv = new float[n * d];
            for (int i = 0; i < n; i++) for (int c = 0; c < d; c++) kv[i * d + c] = qv[i * d + c] * 3 * (i % 5) + noise[i * d + c];
            Tensor k = Norm.l2Normalize(Tensor.of(CPU, kv, n, d));
            Tensor queue = Norm.l2Normalize(Tensor.of(CPU, rng.fork(3).normal(keys * d, 0, 1), keys, d));
            float[] kf = k.toFloatArray(), qf = queue.toFloatArray();
            for (float shift : new float[]{0f, 0.4f}) {
                Tensor[] acc = ContrastiveAccuracy.topK(q, k, queue, shift, 1, 5, 45, 46);
                int[] ks = {1, 5, 45, 46};
                for (int j = 0; j < ks.length; j++)
                    assertEquals(hostTopK(qv, kf, qf, n, d, keys, shift, ks[j]), acc[j].item(), 1e-6, "shift " + shift + ", top-" + ks[j]);
                assertEquals(1.0, acc[3].item(), 0, "top-(K+1) always holds the positive");
            }
            double plain1 = ContrastiveAccuracy.topK(q, k, queue, 0f, 1)[0].item();
            double margin1 = ContrastiveAccuracy.topK(q, k, queue, 0.4f, 1)[0].item();
            assertTrue(plain1 > margin1 && margin1 > 0, "the margin makes top-1 harder: plain " + plain1 + ", margin " + margin1);
            // the fused loss reports the margin-adjusted top-1 (what the reference code prints as Acc@1)
            assertEquals(margin1, Contrastive.marginInfoNce(q, k, queue, 0.4f, 0.2f).accuracy().item(), 1e-6);
        }
    }
}
