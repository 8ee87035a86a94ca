package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written exponential of the InfoNCE kernel: accuracy, range, and lane/scalar agreement. */
class CpuContrastiveExpTest {
    @Test void withinTwoUlpOfMathExpOnTheWholeRange() {
        double worstUlps = 0;
        float at = 0;
        for (int i = 0; i <= 2_000_000; i++) {
            float x = (float) (-87.0 * i / 2_000_000);
            float got = CpuContrastive.expNonPositive(x);
            double exact = Math.exp(x);
            double ulps = Math.abs(got - exact) / Math.ulp((float) exact);
            if (ulps > worstUlps) { worstUlps = ulps; at = x; }
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulp at x = " + at);
    }

    @Test void edgesUnderflowInfinityAndNaN() {
        assertEquals(1f, CpuContrastive.expNonPositive(0f));
        assertEquals(1f, CpuContrastive.expNonPositive(-0f));
        assertEquals(0f, CpuContrastive.expNonPositive(-87.5f));
        assertEquals(0f, CpuContrastive.expNonPositive(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(CpuContrastive.expNonPositive(Float.NaN)));
    }

    @Test void everyLaneGivesTheScalarBits() {
        var sp = FloatVector.SPECIES_PREFERRED;
        float[] x = new float[sp.length() * 64], out = new float[x.length];
        for (int i = 0; i < x.length; i++) x[i] = -(float) (i * 0.0377 + i % 3 * 1e-4);
        x[5] = Float.NEGATIVE_INFINITY;
        x[7] = -100f;
        for (int i = 0; i < x.length; i += sp.length())
            CpuContrastive.expNonPositive(FloatVector.fromArray(sp, x, i)).intoArray(out, i);
        for (int i = 0; i < x.length; i++)
            assertEquals(Float.floatToRawIntBits(CpuContrastive.expNonPositive(x[i])), Float.floatToRawIntBits(out[i]), "x = " + x[i]);
    }
}
