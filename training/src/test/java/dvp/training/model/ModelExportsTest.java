package dvp.training.model;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.io.SafetensorsWriter;
import dvp.engine.spi.Backends;
import dvp.nn.models.ResNet;
import dvp.training.data.transforms.Normalize;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.testing.ShapesDataset;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelExportsTest {
    @TempDir
    Path dir;

    @Test
    void backboneAndClassifierFilesRoundTrip() throws Exception {
        try (Scope s = Scope.open("t")) {
            ModelSpec spec = ShapesDataset.tinyModel(1);
            ResNet net = spec.build(4, new Rng(1));
            InputSpec input = InputSpec.of(16, ShapesDataset.normalize(1));
            Path bb = dir.resolve("b.safetensors"), cl = dir.resolve("c.safetensors");
            ModelExports.save(bb, net, spec, ModelExports.Kind.BACKBONE, List.of(), input);
            ModelExports.save(cl, net, spec, ModelExports.Kind.CLASSIFIER, ShapesDataset.CLASSES, input);
            ModelExports.Weights b = ModelExports.read(bb, Backends.cpu()), c = ModelExports.read(cl, Backends.cpu());
            assertEquals(spec, b.spec());
            assertEquals(input, b.input());
            assertFalse(b.hasHead());
            assertEquals(ModelExports.Kind.CLASSIFIER, c.kind());
            assertEquals(ShapesDataset.CLASSES, c.classes());
            assertEquals(net.stateDict().size(), c.tensors().size());
            // a backbone loads into a network with another head; only fc stays as it was
            ResNet other = spec.build(7, new Rng(2));
            float[] fc = other.tensor("fc.weight").toFloatArray();
            ModelExports.loadBackbone(other, b);
            assertArrayEquals(net.tensor("layer3.0.conv1.weight").toFloatArray(), other.tensor("layer3.0.conv1.weight").toFloatArray());
            assertArrayEquals(fc, other.tensor("fc.weight").toFloatArray());
            // a different network is an error naming the problem
            ResNet wider = spec.withWidth(0.25).build(4, new Rng(3));
            BadInputException e = assertThrows(BadInputException.class, () -> ModelExports.loadBackbone(wider, b));
            assertTrue(e.getMessage().contains("does not fit the network") && e.getMessage().contains("mismatch"), e.getMessage());
            BadInputException noHead = assertThrows(BadInputException.class, () -> ModelExports.loadClassifier(other, b));
            assertTrue(noHead.getMessage().contains("without a classifier"), noHead.getMessage());
            assertEquals(Normalize.class, input.normalize().getClass());
        }
    }

    @Test
    void plainTorchvisionStateDictsLoadAndNamesAreChecked() throws Exception {
        try (Scope s = Scope.open("t")) {
            ModelSpec spec = ShapesDataset.tinyModel(1);
            ResNet net = spec.build(4, new Rng(1));
            // what a DDP MoCo checkpoint converted to safetensors looks like: module.encoder_q.* with the MLP head
            SafetensorsWriter w = new SafetensorsWriter();
            net.stateDict().forEach((k, t) -> { if (!k.startsWith("fc.")) w.put("module.encoder_q." + k, t); });
            w.put("module.encoder_q.fc.0.weight", Tensor.zeros(Backends.cpu(), 3, 3));
            Path p = dir.resolve("moco.safetensors");
            w.write(p);
            ModelExports.Weights wt = ModelExports.read(p, Backends.cpu());
            assertNull(wt.spec(), "no dvp metadata");
            ResNet target = spec.build(4, new Rng(9));
            ModelExports.loadBackbone(target, wt);
            assertArrayEquals(net.tensor("conv1.weight").toFloatArray(), target.tensor("conv1.weight").toFloatArray());
        }
        BadInputException missing = assertThrows(BadInputException.class, () -> ModelExports.read(dir.resolve("nope"), Backends.cpu()));
        assertTrue(missing.getMessage().contains("nope: no such model file"), missing.getMessage());
        Path bad = Files.writeString(dir.resolve("bad.safetensors"), "xx");
        BadInputException corrupt = assertThrows(BadInputException.class, () -> ModelExports.read(bad, Backends.cpu()));
        assertTrue(corrupt.getMessage().contains("bad.safetensors"), corrupt.getMessage());
        Path emptyDir = Files.createDirectories(dir.resolve("empty"));
        BadInputException notCkpt = assertThrows(BadInputException.class, () -> ModelExports.read(emptyDir, Backends.cpu()));
        assertTrue(notCkpt.getMessage().contains("not a checkpoint"), notCkpt.getMessage());
    }

    /**
     * The export contract with PyTorch: a backbone file loads into torchvision's resnet18 with
     * strict=False missing exactly fc.weight and fc.bias, and a classifier file loads strictly and
     * gives our logits (eval mode).
     */
    @Test
    void torchvisionLoadsOurFiles() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(dvp.training.data.transforms.TorchvisionParityTest.pythonHasTorchvision(),
                "skipped: /usr/bin/python3 with torchvision is not installed (apt-get install python3-torchvision)");
        float[] ours;
        Path bb = dir.resolve("bb.safetensors"), cl = dir.resolve("cl.safetensors"), in = dir.resolve("in.safetensors");
        try (Scope s = Scope.open("t")) {
            ModelSpec spec = ModelSpec.of("resnet18");
            ResNet net = spec.build(5, new Rng(4));
            // non-trivial BN statistics, so eval mode is really tested
            for (var e : net.stateDict().entrySet())
                if (e.getKey().endsWith("running_mean") || e.getKey().endsWith("running_var")) {
                    float[] v = new Rng(e.getKey().hashCode()).uniformArray((int) e.getValue().numel(), 0.5, 1.5);
                    e.getValue().copyFrom(Tensor.of(Backends.cpu(), v, e.getValue().shape()));
                }
            ModelExports.save(bb, net, spec, ModelExports.Kind.BACKBONE, List.of(), null);
            ModelExports.save(cl, net, spec, ModelExports.Kind.CLASSIFIER, List.of("a", "b", "c", "d", "e"), null);
            Tensor x = Tensor.of(Backends.cpu(), new Rng(5).normal(2 * 3 * 40 * 40, 0, 1), 2, 3, 40, 40);
            new SafetensorsWriter().put("x", x).write(in);
            net.eval();
            try (var g = GradMode.noGrad()) {
                ours = net.forward(x).toFloatArray();
            }
        }
        Process p = new ProcessBuilder(python.toString(), "src/test/python/load_dvp_model.py", bb.toString(), cl.toString(), in.toString(), "resnet18")
                .redirectErrorStream(true).start();
        String outText = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), outText);
        var report = Json.MAPPER.readTree(outText.lines().reduce((a, b) -> b).orElseThrow());
        assertEquals(List.of("fc.bias", "fc.weight"), Json.MAPPER.convertValue(report.get("missing"), List.class));
        assertEquals(0, report.get("unexpected").size());
        var logits = report.get("logits");
        assertEquals(ours.length, logits.size());
        for (int i = 0; i < ours.length; i++) assertEquals(ours[i], logits.get(i).asDouble(), 1e-3 * (1 + Math.abs(ours[i])), "logit " + i);
    }
}
