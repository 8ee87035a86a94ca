package dvp.nn.parity;

import dvp.engine.DType;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.io.SafetensorsFile;
import dvp.nn.LoadReport;
import dvp.nn.io.ModelFiles;
import dvp.nn.models.ResNet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static dvp.engine.testing.Tensors.randn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model files move between dvp and torchvision in both directions: a ResNet-50 saved by dvp loads
 * into {@code torchvision.models.resnet50()} with {@code strict=True} and computes the same eval
 * logits; a torchvision ResNet-50 (torch's own init, BN statistics moved by a training forward)
 * saved as a plain state dict loads into dvp strictly, value for value, and computes torch's logits.
 */
class StateDictInteropTest {
    @TempDir Path dir;
    private Scope scope;
    private final Rng rng = new Rng(404);

    @BeforeEach void open() { scope = Scope.open("interop"); }

    @AfterEach void close() { scope.close(); }

    @Test void dvpResNet50LoadsIntoTorchvisionStrictly() throws Exception {
        ResNet m = ResNet.builder(ResNet.Arch.RESNET50).build(rng);
        ForwardBackward.randomizeBatchNorms(m, rng);
        Path file = dir.resolve("dvp-resnet50.safetensors");
        ModelFiles.save(m, file);
        Tensor x = randn(rng, 2, 3, 64, 64);
        ParityCase.Reference ref = ParityCase.named("resnet50 saved by dvp, loaded by torchvision (strict)").meta("run", "load_dvp_file")
                .meta("module", "torchvision").meta("arch", "resnet50").meta("model_file", file).tensor("x", x).run();
        assertEquals(m.stateDict().size(), ref.longs("keys")[0], "torchvision's state dict has as many entries as dvp's");
        m.eval();
        try (var g = GradMode.noGrad()) {
            new ParityCheck(ref).floats("y", m.forward(x)).assertWithin(ParityCheck.TOLERANCE);
        }
    }

    @Test void torchvisionResNet50LoadsIntoDvpStrictly() throws Exception {
        Path file = dir.resolve("torchvision-resnet50.safetensors");
        Tensor x = randn(rng, 2, 3, 64, 64);
        ParityCase.Reference ref = ParityCase.named("resnet50 saved by torchvision, loaded by dvp (strict)").meta("run", "torchvision_state_dict")
                .meta("module", "torchvision").meta("arch", "resnet50").meta("model_file", file).meta("seed", 3)
                .tensor("warmup", randn(rng, 4, 3, 64, 64)).tensor("x", x).run();

        ResNet m = ResNet.builder(ResNet.Arch.RESNET50).build(rng);
        LoadReport report = ModelFiles.load(m, file);
        assertTrue(report.isComplete(), report.toString());
        assertEquals(List.of(), report.defaulted(), "torchvision's file has every num_batches_tracked");
        Map<String, Tensor> state = m.stateDict();
        assertEquals(state.size(), report.loaded().size());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(state.keySet().stream().sorted().toList(), f.names().stream().sorted().toList(), "same keys as torchvision");
            for (var e : state.entrySet()) {
                if (e.getValue().dtype() == DType.I64) assertArrayEquals(f.longs(e.getKey()), e.getValue().toLongArray(), e.getKey());
                else assertArrayEquals(f.floats(e.getKey()), e.getValue().toFloatArray(), e.getKey());
            }
            assertArrayEquals(new long[]{1}, f.longs("layer4.2.bn3.num_batches_tracked"), "one training forward in torch");
        }
        m.eval();
        try (var g = GradMode.noGrad()) {
            new ParityCheck(ref).floats("y", m.forward(x)).assertWithin(ParityCheck.TOLERANCE);
        }
    }
}
