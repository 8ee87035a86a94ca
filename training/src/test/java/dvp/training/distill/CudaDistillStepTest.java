package dvp.training.distill;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.cuda.CudaBackend;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.engine.testing.CudaTesting;
import dvp.nn.models.ResNet;
import dvp.nn.models.StageFeatures;
import dvp.nn.optim.Sgd;
import dvp.nn.parity.StepParity;
import dvp.training.model.ModelSpec;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One phase-2 iteration with OFD distillation ({@link OfdDistiller}) on CUDA against the CPU, with
 * tolerances calibrated by the CPU's own sensitivity ({@link StepParity}): the frozen teacher's
 * forward (train-mode BN) and its margins, the four connectors, the fused OFD partial-L2 kernels
 * forward and backward, label-smoothed cross-entropy, backward into student and connectors, and
 * Nesterov SGD. The teacher differs from the student (another seed), so every stage has a
 * distillation gradient.
 */
class CudaDistillStepTest {
    private static final int B = 4, H = 16, CLASSES = 5;
    private static final ModelSpec SPEC = ModelSpec.of("resnet18").withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);

    static StepParity.Snapshot step(Backend be, float[] images) {
        StepParity.Snapshot snap = new StepParity.Snapshot();
        try (Scope s = Scope.open("distill step"); var use = Backends.use(be)) {
            ResNet teacher = SPEC.build(CLASSES, new Rng(1)), student = SPEC.build(CLASSES, new Rng(2));
            OfdDistiller distiller = new OfdDistiller(teacher, student, DistillSpec.defaults().withLambda(1e-2), new Rng(10));
            distiller.train();
            student.train();
            Map<String, Tensor> params = new LinkedHashMap<>(student.namedParameters());
            distiller.connectors().namedParameters().forEach((k, v) -> params.put("connectors." + k, v));
            Sgd sgd = Sgd.builder(0.1).momentum(0.9).nesterov(true).weightDecay(1e-4).group(params).build();
            try {
                Tensor x = Tensor.of(be, images, B, 3, H, H);
                long[] l = new long[B];
                for (int i = 0; i < B; i++) l[i] = i % CLASSES;
                Tensor y = Tensor.ofLongs(be, l, B);
                StageFeatures sf = student.forwardWithFeatures(x);
                Tensor ce = Losses.crossEntropy(sf.logits(), y, 0.1f), ofd = distiller.loss(sf, x);
                Tensor loss = Elementwise.add(ce, ofd);
                loss.backward();
                snap.put("loss", "cross-entropy", ce);
                snap.put("loss", "OFD", ofd);
                for (int i = 0; i < 4; i++) snap.put("teacher margins", "stage " + i, distiller.margin(i));
                snap.putGrads("gradients", params);
                sgd.step();
                snap.putAll("weights after SGD", params);
                snap.putAll("BN buffers student", student.namedBuffers());
                snap.putAll("BN buffers connectors", distiller.connectors().namedBuffers());
                snap.putAll("BN buffers teacher", teacher.namedBuffers());
            } finally {
                sgd.close();
            }
        }
        return snap;
    }

    @Test
    void ofdDistillationStepOnCudaMatchesTheCpu() {
        CudaBackend cuda = CudaTesting.cuda();
        float[] images = new Rng(31).normal(B * 3 * H * H, 0, 1);
        StepParity.Report r = StepParity.compare(Backends.cpu(), cuda, images, CudaDistillStepTest::step, 31);
        assertTrue(r.pass(), "failures:\n" + r.failures().stream().map(StepParity.Row::line).collect(Collectors.joining("\n"))
                + "\nall:\n" + r.rows().stream().map(StepParity.Row::line).collect(Collectors.joining("\n")));
        assertEquals(List.of("loss", "teacher margins", "gradients", "weights after SGD", "BN buffers student", "BN buffers connectors",
                "BN buffers teacher"), r.groups());
        // the distillation term is not negligible here: it moves the student (checked on the CPU reference)
        StepParity.Snapshot ref = step(Backends.cpu(), images);
        float ce = ref.values("loss").get("cross-entropy")[0], ofd = ref.values("loss").get("OFD")[0];
        assertTrue(ofd > 0.01 * ce, "OFD " + ofd + " vs cross-entropy " + ce);
        long connectorGrads = r.rows().stream().filter(x -> x.group().equals("gradients") && x.name().startsWith("connectors.")).count();
        assertEquals(4 * 3, connectorGrads, "each connector's conv weight, BN weight and BN bias");
    }
}
