package dvp.engine.cpu;

import dvp.engine.testing.SplitBits;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs every case of {@link ThreadCountIndependenceTest} once and prints one line per output:
 * "lanes L | case: output | hash of its bits". {@link VectorWidthIndependenceTest} runs it in child
 * JVMs with different {@code -XX:MaxVectorSize} (so a different {@code FloatVector.SPECIES_PREFERRED})
 * and compares the lines.
 */
public final class VectorWidthBitsMain {
    private VectorWidthBitsMain() {}

    public static void main(String[] args) throws Exception {
        Map<String, float[]> out = new LinkedHashMap<>();
        SplitBits.recorder = out;
        ThreadCountIndependenceTest cases = new ThreadCountIndependenceTest();
        for (Method m : ThreadCountIndependenceTest.class.getDeclaredMethods()) {
            if (!m.isAnnotationPresent(Test.class)) continue;
            m.setAccessible(true);
            m.invoke(cases);
        }
        System.out.println("lanes " + Sgemm.L);
        out.forEach((k, v) -> {
            long h = 1125899906842597L;
            for (float f : v) h = 31 * h + Float.floatToRawIntBits(f);
            System.out.println("bits | " + k + " | " + Long.toHexString(h) + " | " + v.length);
        });
    }
}
