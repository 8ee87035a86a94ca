package dvp.training.study;

import com.fasterxml.jackson.databind.JsonNode;
import dvp.engine.spi.Backends;
import dvp.training.observe.ProgressMode;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.session.SessionOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dvp study} end to end on a tiny configuration (synthetic Fashion-MNIST files, 1 epoch per
 * stage): one seed, then resumed with two (the first reused), the aggregate checked against the
 * seeds' own numbers, an interrupted seed resumed through its finished stages, and a changed
 * configuration refused.
 */
class StudyTest {
    @TempDir
    Path dir;

    /** Fashion-MNIST-shaped IDX files: 10 classes, each image a bright bar whose row is the class, plus noise. */
    private Path writeFakeFashionMnist() throws IOException { return writeFakeFashionMnist(dir); }

    static Path writeFakeFashionMnist(Path dir) throws IOException {
        Path root = Files.createDirectories(dir.resolve("fmnist"));
        write(root, "train", 50, 1);
        write(root, "t10k", 20, 2);
        return root;
    }

    private static void write(Path root, String prefix, int n, long seed) throws IOException {
        java.util.Random r = new java.util.Random(seed);
        byte[] px = new byte[n * 28 * 28], labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int c = i % 10;
            labels[i] = (byte) c;
            for (int p = 0; p < 28 * 28; p++) px[i * 784 + p] = (byte) r.nextInt(60);
            for (int y = 2 + 2 * c; y < 4 + 2 * c; y++) for (int x = 4; x < 24; x++) px[i * 784 + y * 28 + x] = (byte) 220;
        }
        idx(root.resolve(prefix + "-images-idx3-ubyte.gz"), 0x803, new int[]{n, 28, 28}, px);
        idx(root.resolve(prefix + "-labels-idx1-ubyte.gz"), 0x801, new int[]{n}, labels);
    }

    private static void idx(Path file, int magic, int[] dims, byte[] data) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(file)))) {
            out.writeInt(magic);
            for (int d : dims) out.writeInt(d);
            out.write(data);
        }
    }

    /** Every stage one epoch on 2 + 1 images per class, a width-0.125 net: seconds per seed. */
    static StudyConfig tiny(Path fmnist, int seeds) {
        var o = new StudyRegimes.Overrides(fmnist, 2, 1, 1, 1, 1, 0.125, 1, 8, 16, 2);
        return new StudyConfig("test", StudyRegimes.pipeline("demo", o), seeds, 0, "training", 0).validate();
    }

    static SessionOptions quiet() { return SessionOptions.defaults().withProgress(ProgressMode.NONE); }

    private Study.Result run(StudyConfig cfg, Path folder, ByteArrayOutputStream log) throws IOException {
        return new Study(cfg, quiet(), Backends.cpu(), new PrintStream(log, true)).prepare().run(folder);
    }

    @Test
    void seedsAggregateResumeAndRefuseAnotherStudy() throws Exception {
        Path fm = writeFakeFashionMnist(), folder = dir.resolve("study");

        // one seed: a report without intervals
        Study.Result one = run(tiny(fm, 1), folder, new ByteArrayOutputStream());
        assertEquals(1, one.seeds().size());
        assertTrue(Files.readString(folder.resolve("results.md")).contains("(1 seed)"));

        // resumed with two seeds: seed 0 is reused, seed 1 runs
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Study.Result two = run(tiny(fm, 2), folder, log);
        assertTrue(log.toString().contains("seed 0 already finished"), log.toString());
        assertTrue(log.toString().contains("2/2 seeds done"), log.toString());
        assertEquals(List.of(0L, 1L), two.seeds().stream().map(SeedResult::seed).toList());
        assertEquals(one.seeds().getFirst(), two.seeds().getFirst());

        // each seed: all four rows, train accuracy measured, phase 1's four accuracies, the split for the twin
        for (SeedResult s : two.seeds()) {
            assertEquals(0, s.splitSeed(), "--vary training keeps the split");
            assertEquals(SeedResult.ROWS, List.copyOf(s.rows().keySet()));
            for (SeedResult.Row r : s.rows().values())
                for (double v : new double[]{r.testTop1(), r.valTop1Last(), r.trainTop1(), r.testTop5()}) assertTrue(v >= 0 && v <= 1, r.toString());
            assertEquals(SeedResult.PHASE1, List.copyOf(s.phase1().keySet()));
            assertEquals(SeedResult.PHASE2, List.copyOf(s.phase2().keySet()));
            assertTrue(s.phase1().get("acc1") >= s.phase1().get("acc1_margin"), "the margin only makes top-1 harder: " + s.phase1());
            assertTrue(s.phase1().get("acc5") >= s.phase1().get("acc1"), s.phase1().toString());
        }
        JsonNode split = Json.readFile(folder.resolve("seed-1").resolve("split.json"));
        Set<Integer> train = new HashSet<>(), val = new HashSet<>();
        split.get("train").forEach(n -> train.add(n.asInt()));
        split.get("val").forEach(n -> val.add(n.asInt()));
        assertEquals(20, train.size());
        assertEquals(10, val.size());
        assertTrue(train.stream().noneMatch(val::contains), "disjoint");
        assertEquals(Json.readFile(folder.resolve("seed-0").resolve("split.json")).get("train"), split.get("train"), "one split for every seed");

        // the aggregate is the seeds' numbers: mean, sample sd, t interval with t(0.975, 1) = 12.706
        JsonNode results = Json.readFile(folder.resolve("results.json"));
        for (String row : SeedResult.ROWS) {
            double a = 100 * two.seeds().get(0).rows().get(row).testTop1(), b = 100 * two.seeds().get(1).rows().get(row).testTop1();
            JsonNode s = results.get("dvp").get("test_top1").get(row);
            double mean = (a + b) / 2, sd = Math.abs(a - b) / Math.sqrt(2);
            assertEquals(2, s.get("n").asInt());
            assertEquals(mean, s.get("mean").asDouble(), 1e-9, row);
            assertEquals(sd, s.get("sd").asDouble(), 1e-9, row);
            assertEquals(mean - 12.706204736 * sd / Math.sqrt(2), s.get("ci95_low").asDouble(), 1e-6, row);
            assertEquals(mean + 12.706204736 * sd / Math.sqrt(2), s.get("ci95_high").asDouble(), 1e-6, row);
        }
        JsonNode d = results.get("dvp").get("test_top1").get("phase2_minus_finetune");
        double d0 = 100 * (two.seeds().get(0).rows().get("distill").testTop1() - two.seeds().get(0).rows().get("finetune").testTop1());
        double d1 = 100 * (two.seeds().get(1).rows().get("distill").testTop1() - two.seeds().get(1).rows().get("finetune").testTop1());
        assertArrayEquals(new double[]{d0, d1}, new double[]{d.get("values").get(0).asDouble(), d.get("values").get(1).asDouble()}, 1e-9);
        assertEquals((d0 + d1) / 2, d.get("mean").asDouble(), 1e-9);
        // the tiny run's one epoch is all distillation warm-up (CE only), so phase 2 is exactly fine-tuning
        // from the same phase-1 network with the same seed: the pairing is exact, the difference 0
        assertArrayEquals(new double[]{0, 0}, new double[]{d0, d1}, 0);
        assertEquals("no difference shown (interval contains 0)", d.get("verdict").asText());
        String md = Files.readString(folder.resolve("results.md"));
        assertTrue(md.contains("| **Phase 2 − finetune (paired)** |") && md.contains("Every seed, dvp"), md);
        assertTrue(Files.size(folder.resolve("results.png")) > 1000 || md.contains("could not draw"), "a chart or the reason there is none");

        // a seed stopped after its stages finished (seed.json not yet written): resumed from them, not retrained
        Files.delete(folder.resolve("seed-1").resolve("seed.json"));
        ByteArrayOutputStream log3 = new ByteArrayOutputStream();
        Study.Result again = run(tiny(fm, 2), folder, log3);
        assertEquals(5, log3.toString().lines().filter(l -> l.contains("already finished in") && l.contains("seed-1")).count(), log3.toString());
        assertEquals(two.seeds().get(1).rows(), again.seeds().get(1).rows());

        // a seed written before seeds recorded phase 2's loss terms gets them from its distill run on resume
        Path seed0 = folder.resolve("seed-0").resolve("seed.json");
        SeedResult full = Study.readSeed(seed0);
        Json.writeFile(seed0, new SeedResult(full.implementation(), full.seed(), full.splitSeed(), full.rows(), full.phase1(), java.util.Map.of(),
                full.seconds(), full.cpuSeconds()));
        ByteArrayOutputStream log5 = new ByteArrayOutputStream();
        Study.Result filled = run(tiny(fm, 2), folder, log5);
        assertTrue(log5.toString().contains("seed 0: phase 2's loss terms read from its distill run"), log5.toString());
        assertEquals(full.phase2(), filled.seeds().getFirst().phase2());
        assertEquals(full.phase2(), Study.readSeed(seed0).phase2(), "written back into seed.json");

        // an ablation of phase 2 reuses phase 1 and the other three rows of the study it varies
        StudyConfig ablation = new StudyConfig("ablation", tiny(fm, 2).pipeline().withDistill(c -> c.with(b -> b.distill = b.distill.withLambda(1e-3))),
                2, 0, "training", 0);
        ByteArrayOutputStream log4 = new ByteArrayOutputStream();
        Study.Result abl = new Study(ablation, quiet(), Backends.cpu(), new PrintStream(log4, true)).prepare().reusing(folder).run(dir.resolve("ablation"));
        assertEquals(8, log4.toString().lines().filter(l -> l.contains("reused from")).count(), log4.toString());
        assertFalse(log4.toString().contains("distill reused"), log4.toString());
        for (int i = 0; i < 2; i++)
            for (String row : List.of("supervised", "linear", "finetune"))
                assertEquals(two.seeds().get(i).rows().get(row).testTop1(), abl.seeds().get(i).rows().get(row).testTop1(), row);

        // another configuration in the same folder is refused (only --seeds may change)
        StudyConfig other = new StudyConfig("test", tiny(fm, 2).pipeline().withDistill(c -> c.with(b -> b.epochs = 2)), 2, 0, "training", 0);
        BadInputException e = assertThrows(BadInputException.class, () -> run(other, folder, new ByteArrayOutputStream()));
        assertTrue(e.getMessage().contains("holds another study"), e.getMessage());
        assertEquals(tiny(fm, 2), Study.readConfig(folder), "study.json reads back as the configuration it was written from");
    }

    @Test
    void theOverfitRegimeIsTheDocumentedOne() {
        var p = StudyRegimes.pipeline("overfit", StudyRegimes.Overrides.none());
        assertEquals(10, p.data().trainPerClass());
        assertEquals(50, p.data().valPerClass());
        assertEquals(64, p.pretrain().queueSize());
        assertTrue(p.pretrain().queueSize() < 10 * 10, "the queue stays below the 100 training images");
        for (var c : List.of(p.distill(), p.finetune(), p.supervised())) {
            assertEquals(300, c.epochs());
            assertEquals(1e-4, c.optim().weightDecay(), 0);
        }
        assertEquals(12, p.distill().distill().warmupEpochs(), "4 % of the epochs, as 4 of 100");
        assertEquals(4, StudyRegimes.pipeline("overfit", new StudyRegimes.Overrides(null, null, null, null, 100, null, null, null, null, null, 0))
                .distill().distill().warmupEpochs());
        assertEquals(1e-4, p.distill().distill().lambda(), 0);
        assertThrows(BadInputException.class, () -> StudyRegimes.pipeline("huge", StudyRegimes.Overrides.none()));
    }

    @Test
    void varyingTheSplitDrawsOnePerSeed() {
        StudyConfig c = new StudyConfig("t", StudyRegimes.pipeline("demo", StudyRegimes.Overrides.none()), 3, 4, "split", 0).validate();
        assertEquals(5, c.forSeed(5).data().splitSeed());
        assertEquals(5, c.forSeed(5).pretrain().seed());
        assertEquals(5, c.forSeed(5).distill().seed());
        assertEquals(5, c.forSeed(5).supervised().seed());
        StudyConfig fixed = new StudyConfig("t", c.pipeline(), 3, 4, "training", 7).validate();
        assertEquals(7, fixed.forSeed(5).data().splitSeed());
        assertEquals(5, fixed.forSeed(5).finetune().seed());
        assertThrows(BadInputException.class, () -> new StudyConfig("t", c.pipeline(), 0, 0, "training", 0).validate());
        assertThrows(BadInputException.class, () -> new StudyConfig("t", c.pipeline(), 2, 0, "labels", 0).validate());
        assertFalse(c.sameStudyAs(fixed));
        assertTrue(c.sameStudyAs(c.withSeeds(10)));
    }
}
