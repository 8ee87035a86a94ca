package dvp.engine;

import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The multi-tensor optimizer call refuses missing momentum buffers with the same sentence on every backend. */
class MultiTensorArgumentsTest {
    @TestFactory
    Stream<DynamicTest> momentumWithoutBuffersIsAClearErrorOnEveryBackend() {
        return Backends.all().stream().map(b -> DynamicTest.dynamicTest(b.name(), () -> {
            assumeTrue(b.availability().available(), () -> "no " + b.name() + " device (" + b.availability().reason() + ")");
            Backend be = Backends.get(b.name());
            Tensor p = Tensor.of(be, new float[]{1, 2, 3}, 3), g = Tensor.of(be, new float[]{1, 1, 1}, 3);
            Tensor lr = Tensor.of(be, new float[]{0.1f}, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> be.sgdUpdateMulti(new Tensor[]{p}, new Tensor[]{g}, null, lr, 0.9f, 0f, 0f, false, false));
            assertEquals("sgdUpdateMulti: momentum 0.9 needs a momentum buffer for every parameter", e.getMessage());
        }));
    }
}
