package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.training.data.decode.ImageWriters;
import dvp.training.data.image.Image8;
import dvp.training.data.transforms.Normalize;
import dvp.training.model.InputSpec;
import dvp.training.model.ModelExports;
import dvp.training.model.ModelSpec;
import dvp.training.run.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The training commands end to end on a tiny VIPriors-layout folder (3 wnid classes of 16 px PNGs,
 * unlabelled test/imgs): pretrain → linear-eval / finetune / distill → evaluate (ensemble, TenCrop)
 * → predict (checked submission), and one-line errors for bad input to every command.
 */
class TrainingCommandsTest {
    @TempDir
    static Path dir;
    static Path data;
    static final String[] TINY = {"--device", "cpu", "--progress", "none", "--no-tensorboard", "--no-plots", "--workers", "2"};
    static final String[] NET = {"--arch", "resnet18", "--small-stem", "--width", "0.125", "--blocks", "1,1,1,1"};
    static final List<String> WNIDS = List.of("n01440764", "n01443537", "n01484850");

    record Run(int code, String out, String err) {}

    static Run dvp(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Dvp.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static String[] args(Object... parts) {
        List<String> l = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof String[] a) l.addAll(List.of(a));
            else l.add(p.toString());
        }
        return l.toArray(String[]::new);
    }

    /** Class c: a bright square in corner c of a dark noisy image. */
    static Image8 image(int c, Random r) {
        byte[] d = new byte[16 * 16 * 3];
        int ox = c == 1 ? 8 : 0, oy = c == 2 ? 8 : 0;
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++) {
                boolean in = x >= ox && x < ox + 8 && y >= oy && y < oy + 8;
                int v = (in ? 200 : 40) + r.nextInt(30);
                for (int k = 0; k < 3; k++) d[(y * 16 + x) * 3 + k] = (byte) v;
            }
        return new Image8(16, 16, 3, d);
    }

    @BeforeAll
    static void writeData() throws Exception {
        data = dir.resolve("vip");
        Random r = new Random(1);
        for (String split : new String[]{"train", "val"})
            for (int c = 0; c < 3; c++) {
                Path f = Files.createDirectories(data.resolve(split).resolve(WNIDS.get(c)));
                for (int i = 0; i < (split.equals("train") ? 16 : 6); i++) ImageWriters.writePng(image(c, r), f.resolve("i" + i + ".png"));
            }
        Path test = Files.createDirectories(data.resolve("test/imgs"));
        for (int i = 0; i < 7; i++) ImageWriters.writePng(image(i % 3, r), test.resolve("img_" + i + ".png"));
    }

    @Test
    void pretrainThenEveryDownstreamCommand() throws Exception {
        String d = "vipriors:" + data;
        Run pre = dvp(args("pretrain", "--data", d, NET, TINY, "--image-size", 16, "--epochs", 2, "--batch-size", 8, "--queue-size", 16,
                "--bn-splits", 2, "--dim", 8, "--run-dir", dir.resolve("pre")));
        assertEquals(0, pre.code(), pre.err());
        Path backbone = dir.resolve("pre/export/backbone.safetensors");
        assertTrue(pre.out().contains("backbone: " + backbone), pre.out());

        String[] down = {"--data", d, "--image-size", "16", "--eval-resize", "16", "--epochs", "2", "--batch-size", "8"};
        Run lin = dvp(args("linear-eval", down, TINY, "--pretrained", backbone, "--lr", 0.5, "--run-dir", dir.resolve("lin")));
        assertEquals(0, lin.code(), lin.err());
        assertTrue(lin.out().contains("val top-1 "), lin.out());
        Run fin = dvp(args("finetune", down, TINY, "--pretrained", dir.resolve("pre"), "--run-dir", dir.resolve("fin")));
        assertEquals(0, fin.code(), fin.err());
        Run dis = dvp(args("distill", down, TINY, "--pretrained", backbone, "--distill-warmup", 1, "--label-smoothing", 0.1,
                "--auto-augment", "dvp", "--run-dir", dir.resolve("dis")));
        assertEquals(0, dis.code(), dis.err());
        var cfg = Json.readFile(dir.resolve("dis/config.json"));
        assertEquals("distill", cfg.get("mode").asText());
        assertEquals(0.1, cfg.get("labelSmoothing").asDouble());
        Run sup = dvp(args("finetune", down, TINY, NET, "--run-dir", dir.resolve("sup")));
        assertEquals(0, sup.code(), "the supervised baseline from --arch: " + sup.err());

        Path m1 = dir.resolve("dis/export/model.safetensors"), m2 = dir.resolve("fin/export/model.safetensors");
        Run ev = dvp(args("evaluate", m1, m2, "--data", d, "--ten-crop", "--device", "cpu", "--workers", 2, "--output", dir.resolve("ev.json")));
        assertEquals(0, ev.code(), ev.err());
        assertTrue(ev.out().startsWith("top-1 ") && ev.out().contains("2 models (ensemble)") && ev.out().contains("TenCrop 16 px"), ev.out());
        assertEquals(18, Json.readFile(dir.resolve("ev.json")).get("images").asInt());
        Run evRun = dvp(args("evaluate", dir.resolve("lin"), "--data", d, "--device", "cpu", "--workers", 2));
        assertEquals(0, evRun.code(), "a run folder works as a model: " + evRun.err());

        Path csv = dir.resolve("sub.csv");
        Run pr = dvp(args("predict", m1, "--data", d, "--output", csv, "--device", "cpu", "--workers", 2));
        assertEquals(0, pr.code(), pr.err());
        List<String> rows = Files.readAllLines(csv);
        assertEquals("Image IDs,Predictions", rows.getFirst());
        assertEquals(8, rows.size());
        for (int i = 0; i < 7; i++) assertTrue(rows.get(i + 1).matches("img_" + i + "\\.png,[0-2]"), rows.get(i + 1));
    }

    private static void assertOneLine(Run r, String contains) {
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().lines().filter(l -> !l.startsWith("dvp: run folder")).count(), "one line: " + r.err());
        assertTrue(r.err().contains(contains), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void badInputToEveryCommandIsOneLineWithExitCode2() {
        String d = "vipriors:" + data;
        assertOneLine(dvp("pretrain", "--data", d, "--device", "cpu", "--queue-size", "100", "--batch-size", "64"),
                "--queue-size 100 is not a multiple of --batch-size 64");
        assertOneLine(dvp("pretrain", "--data", "vipriors:" + dir.resolve("missing"), "--device", "cpu"), "no such folder");
        assertOneLine(dvp("pretrain", "--data", d, "--arch", "resnet51", "--device", "cpu"), "unknown architecture 'resnet51'");
        assertOneLine(dvp("pretrain", "--data", d, "--device", "cpu", "--lr-milestones", "50"),
                "--lr-milestones applies to --schedule steps only (the schedule is cosine)");
        assertOneLine(dvp("pretrain", "--data", "imagenet:/x", "--device", "cpu"), "unknown kind 'imagenet'");
        // options of another kind of data would be ignored: the run would not be the one asked for
        // (tiny runs, so that an option ignored again fails the test in seconds, not after a long training)
        assertOneLine(dvp(args("finetune", "--data", "folder:" + data, NET, TINY, "--image-size", 16, "--epochs", 1, "--batch-size", 8,
                "--run-dir", dir.resolve("tv"), "--trainval")), "--trainval applies to vipriors data only, not folder");
        assertOneLine(dvp(args("pretrain", "--data", d, NET, TINY, "--image-size", 16, "--epochs", 1, "--batch-size", 8, "--queue-size", 16,
                "--bn-splits", 2, "--dim", 8, "--run-dir", dir.resolve("tpc"), "--train-per-class", 10)),
                "--train-per-class applies to fashion-mnist data only, not vipriors");
        assertOneLine(dvp("linear-eval", "--data", d, "--device", "cpu"), "needs --pretrained");
        assertOneLine(dvp("finetune", "--data", d, "--device", "cpu", "--pretrained", dir.resolve("nope.safetensors").toString()), "no such file");
        assertOneLine(dvp("finetune", "--data", d, "--device", "cpu"), "--pretrained weights or --arch");
        assertOneLine(dvp("finetune", "--data", d, "--device", "cpu", "--arch", "resnext50_32x4d", "--width", "0.1", "--run-dir",
                dir.resolve("narrow").toString()), "cannot build resnext50_32x4d (width 0.1)");
        assertOneLine(dvp("distill", "--data", d, "--device", "cpu", "--pretrained", data.toString(), "--teacher-mode", "frozen"), "--teacher-mode");
        assertOneLine(dvp("evaluate", dir.resolve("nope").toString(), "--data", d, "--device", "cpu"), "no such model file");
        assertOneLine(dvp("evaluate", data.toString(), "--data", d, "--device", "cpu", "--split", "dev"), "--split");
        assertOneLine(dvp("predict", dir.resolve("nope").toString(), "--data", "folder:" + data, "--device", "cpu"), "no unlabelled test images");
        assertOneLine(dvp("pipeline", "--data", d, "--device", "cpu", "--queue-size", "100", "--batch-size", "64"), "--queue-size 100");
        assertOneLine(dvp("demo", "--fashion-mnist", dir.resolve("nofmnist").toString(), "--device", "cpu"), "Fashion-MNIST not found");
        assertOneLine(dvp("pretrain", "--device", "cpu"), "dvp pretrain: missing --data KIND:PATH");
        assertOneLine(dvp("study", "--regime", "huge", "--device", "cpu"), "--regime must be one of [overfit, demo]");
        assertOneLine(dvp("study", "--vary", "labels", "--device", "cpu"), "--vary must be training");
        assertOneLine(dvp("study", "--fashion-mnist", dir.resolve("nofmnist").toString(), "--device", "cpu"), "Fashion-MNIST not found");
        assertOneLine(dvp("study", "--resume", dir.resolve("nostudy").toString(), "--device", "cpu"), "is not a study folder (no study.json)");
        assertOneLine(dvp("study", "--resume", dir.resolve("nostudy").toString(), "--epochs", "3", "--device", "cpu"),
                "a resumed study keeps the settings it was started with");
    }

    @Test
    void evaluatingOnASplitWithOtherClassNamesIsAnErrorNotMisalignedLabels() throws Exception {
        ModelSpec spec = ModelSpec.of("resnet18").withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);
        Path model = dir.resolve("other-classes.safetensors");
        try (Scope s = Scope.open("model")) {
            ModelExports.save(model, spec.build(3, new Rng(0)), spec, ModelExports.Kind.CLASSIFIER, List.of("cat", "dog", "eel"),
                    InputSpec.of(16, Normalize.IMAGENET));
        }
        // as many classes as the split, other names: output 0 ('cat') would be scored as label 0 (n01440764)
        assertOneLine(dvp("evaluate", model.toString(), "--data", "vipriors:" + data, "--device", "cpu", "--workers", "2"),
                "the model's classes are not the val split's (index 0: 'cat' vs 'n01440764')");
    }

    @Test
    void aModelWithNanWeightsIsExitCode6NamingItNeverAScoreOrASubmission() throws Exception {
        ModelSpec spec = ModelSpec.of("resnet18").withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);
        Path model = dir.resolve("nan-weight.safetensors");
        try (Scope s = Scope.open("model")) {
            var net = spec.build(3, new Rng(0));
            var w = net.tensor("layer2.0.conv1.weight");
            w.backend().fill(w, Float.NaN);
            ModelExports.save(model, net, spec, ModelExports.Kind.CLASSIFIER, WNIDS, InputSpec.of(16, Normalize.IMAGENET));
        }
        String d = "vipriors:" + data;
        for (String[] cmd : List.of(new String[]{"evaluate", model.toString(), "--data", d}, new String[]{"evaluate", model.toString(), "--data", d,
                "--ten-crop"}, new String[]{"predict", model.toString(), "--data", d, "--output", dir.resolve("nan.csv").toString()})) {
            Run r = dvp(args(cmd, "--device", "cpu", "--workers", 2));
            assertEquals(6, r.code(), r.out() + r.err());
            assertTrue(r.err().contains(model + ": weight 'layer2.0.conv1.weight' holds NaN"), r.err());
            assertFalse(r.out().contains("top-1"), "no score: " + r.out());
        }
        assertFalse(Files.exists(dir.resolve("nan.csv")), "no submission of class 0 for every image");
    }

    /** A copy of the tiny data with the given files (relative paths) made unreadable. */
    static Path copyWithUnreadable(String name, String... broken) throws Exception {
        Path copy = dir.resolve(name);
        try (var files = Files.walk(data)) {
            for (Path f : files.toList()) {
                Path to = copy.resolve(data.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(to);
                else Files.copy(f, to);
            }
        }
        for (String b : broken) Files.write(copy.resolve(b), new byte[]{'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
        return copy;
    }

    static Path randomModel(String name) throws Exception {
        ModelSpec spec = ModelSpec.of("resnet18").withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);
        Path model = dir.resolve(name);
        try (Scope s = Scope.open("model")) {
            ModelExports.save(model, spec.build(3, new Rng(0)), spec, ModelExports.Kind.CLASSIFIER, WNIDS, InputSpec.of(16, Normalize.IMAGENET));
        }
        return model;
    }

    @Test
    void unreadableTestImagesStopEvaluateAndPredictOrAreListedWithSkipUnreadable() throws Exception {
        Path bad = copyWithUnreadable("vip-badeval", "val/n01443537/i1.png", "test/imgs/img_3.png");
        Path badVal = bad.resolve("val/n01443537/i1.png"), badTest = bad.resolve("test/imgs/img_3.png");
        Path model = randomModel("skip-model.safetensors");
        String d = "vipriors:" + bad;
        Run ev = dvp(args("evaluate", model, "--data", d, "--device", "cpu", "--workers", 2));
        assertOneLine(ev, "unreadable image " + badVal + ": ");
        assertTrue(ev.err().contains("--skip-unreadable"), ev.err());
        Run skip = dvp(args("evaluate", model, "--data", d, "--device", "cpu", "--workers", 2, "--skip-unreadable", "--output", dir.resolve("skip.json")));
        assertEquals(0, skip.code(), skip.err());
        assertTrue(skip.out().contains(", 17 images,"), "18 val images, 17 scored: " + skip.out());
        assertTrue(skip.out().contains("not scored (unreadable): 1 image: " + badVal), skip.out());
        assertEquals(badVal.toString(), Json.readFile(dir.resolve("skip.json")).get("not_scored").get(0).asText());

        Path csv = dir.resolve("skip.csv");
        assertOneLine(dvp(args("predict", model, "--data", d, "--output", csv, "--device", "cpu", "--workers", 2)), "unreadable image " + badTest);
        assertFalse(Files.exists(csv));
        Run pr = dvp(args("predict", model, "--data", d, "--output", csv, "--device", "cpu", "--workers", 2, "--skip-unreadable"));
        assertEquals(0, pr.code(), pr.err());
        assertTrue(pr.out().contains("6 rows (every readable test image once)"), pr.out());
        assertTrue(pr.out().contains("not predicted, no row (unreadable): 1 image: " + badTest), pr.out());
        List<String> rows = Files.readAllLines(csv);
        assertEquals(7, rows.size());
        assertTrue(rows.stream().noneMatch(r -> r.startsWith("img_3.png")), "no neighbour's prediction under the broken image's ID: " + rows);
    }

    /** Every file under dir with its bytes (a folder's exact state). */
    static java.util.Map<Path, String> snapshot(Path dir) throws Exception {
        java.util.Map<Path, String> m = new java.util.TreeMap<>();
        try (var files = Files.walk(dir)) {
            for (Path f : files.toList())
                m.put(dir.relativize(f), Files.isRegularFile(f) ? java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))) : "dir");
        }
        return m;
    }

    @Test
    void aResumeOrARunThatFailsValidationLeavesNoTrace() throws Exception {
        String d = "vipriors:" + data;
        Path fin = dir.resolve("trace-fin");
        Run first = dvp(args("finetune", "--data", d, NET, TINY, "--image-size", 16, "--eval-resize", 16, "--epochs", 1, "--batch-size", 8,
                "--run-dir", fin));
        assertEquals(0, first.code(), first.err());
        var before = snapshot(fin);
        // another command's run: its checkpoint has no MoCo state
        Run pre = dvp(args("pretrain", "--data", d, NET, TINY, "--image-size", 16, "--epochs", 2, "--batch-size", 8, "--queue-size", 16,
                "--bn-splits", 2, "--dim", 8, "--resume", fin));
        assertOneLine(pre, "that run was started by 'dvp finetune'");
        assertEquals(before, snapshot(fin), "config.json, versions.json, metrics and checkpoints as they were");
        // a setting that does not fit the checkpoint (another batch size: another number of steps per epoch)
        Run batch = dvp(args("finetune", "--data", d, NET, TINY, "--image-size", 16, "--eval-resize", 16, "--epochs", 2, "--batch-size", 6,
                "--resume", fin));
        assertOneLine(batch, "--batch-size 6, but the run in " + fin + " was started with --batch-size 8");
        assertEquals(before, snapshot(fin));

        // bad input found while building the trainer: no stray run folder, neither new under --runs-dir nor a named --run-dir
        Path runs = dir.resolve("trace-runs");
        assertOneLine(dvp(args("finetune", "--data", d, NET, TINY, "--image-size", 16, "--batch-size", 500, "--drop-last", "--runs-dir", runs)),
                "--batch-size 500 is larger than the training set (48 images)");
        assertFalse(Files.exists(runs) && Files.list(runs).findAny().isPresent(), "no run folder left under " + runs);
        Path named = dir.resolve("trace-new/a/b");
        assertOneLine(dvp(args("pretrain", "--data", d, NET, TINY, "--image-size", 16, "--epochs", 1, "--batch-size", 500, "--queue-size", 500,
                "--bn-splits", 2, "--dim", 8, "--run-dir", named)), "larger than the training set");
        assertFalse(Files.exists(dir.resolve("trace-new")), "the folders --run-dir would have created are not left behind");
    }

    @Test
    void resumeAloneContinuesWithTheRecordedOptionsAndRefusesDifferentOnes() throws Exception {
        String d = "vipriors:" + data;
        Path run = dir.resolve("resume-alone");
        Run first = dvp(args("--seed", 3, "pretrain", "--data", d, NET, TINY, "--image-size", 16, "--epochs", 1, "--batch-size", 8,
                "--queue-size", 16, "--bn-splits", 2, "--dim", 8, "--lr", 0.05, "--channels-last", "--run-dir", run));
        assertEquals(0, first.code(), first.err());
        byte[] config = Files.readAllBytes(run.resolve("config.json"));
        var recorded = Json.readFile(run.resolve("config.json")).get("command_line");
        assertEquals("dvp pretrain", recorded.get("command").asText());
        assertEquals("[\"--lr\",\"0.05\"]", recorded.get("options").get("--lr").toString());
        assertEquals("[\"--channels-last\"]", recorded.get("options").get("--channels-last").toString(), "accepted on the CPU and recorded");

        // any option but one that may change is refused, naming both values; nothing is written
        Run lr = dvp(args("pretrain", "--resume", run, "--lr", 0.1));
        assertOneLine(lr, "dvp pretrain: --lr 0.1, but the run in " + run + " was started with --lr 0.05 (its config.json)");
        assertTrue(lr.err().contains("options that may change on resume: --channels-last, --cuda-graph, --debug, --deterministic, --device, --epochs,"), lr.err());
        assertOneLine(dvp(args("pretrain", "--resume", run, "--seed", 4)), "--seed 4, but the run in " + run + " was started with --seed 3");
        assertOneLine(dvp(args("pretrain", "--resume", run, "--schedule", "steps")), "--schedule steps, but the run");
        assertOneLine(dvp(args("finetune", "--resume", run)), "that run was started by 'dvp pretrain', so continue it with 'dvp pretrain --resume");
        assertArrayEquals(config, Files.readAllBytes(run.resolve("config.json")));

        assertTrue(Json.readFile(run.resolve("versions.json")).get("compute").asText().equals("precision fp32, deterministic on"),
                "versions.json records how the CPU computed");

        // --resume alone, extended by one epoch: the recorded data, network, seed and lr; --precision,
        // --deterministic, --no-cuda-graph (how a CUDA step is launched, not what it computes; no effect
        // on the CPU) and --no-channels-last (the activations' layout) may be given anew (the CPU says tf32 does not apply to it)
        Run more = dvp(args("pretrain", "--resume", run, "--epochs", 2, "--device", "cpu", "--precision", "tf32", "--deterministic", "--no-cuda-graph",
                "--no-channels-last"));
        assertEquals(0, more.code(), more.err());
        assertTrue(more.err().contains("dvp: --precision tf32 has no effect on cpu: it computes in fp32"), more.err());
        assertTrue(more.err().contains("dvp: resumed from " + run.resolve("checkpoints").toRealPath()), more.err());
        var cfg = Json.readFile(run.resolve("config.json"));
        assertEquals(2, cfg.get("epochs").asInt());
        assertEquals(0.05, cfg.get("optim").get("lr").asDouble());
        assertEquals(3, cfg.get("seed").asLong());
        List<String> epochRows = Files.readAllLines(run.resolve("metrics/epoch.csv"));
        int col = List.of(epochRows.getFirst().split(",")).indexOf("epoch");
        assertEquals(List.of("1", "2"), epochRows.stream().skip(1).map(l -> l.split(",")[col]).toList(), "epoch 1, then the resumed epoch 2");
    }

    @Test
    void resumingAFinishedRunSaysSoWithItsLastEpoch() throws Exception {
        Path run = dir.resolve("finished");
        Run first = dvp(args("finetune", "--data", "vipriors:" + data, NET, TINY, "--image-size", 16, "--eval-resize", 16, "--epochs", 2,
                "--batch-size", 8, "--run-dir", run));
        assertEquals(0, first.code(), first.err());
        String line = first.out().lines().filter(l -> l.startsWith("finetune: ")).findFirst().orElseThrow();
        String lastEpoch = line.substring(line.indexOf("last epoch: "));
        Run again = dvp(args("finetune", "--resume", run));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("dvp: the run had already finished: all 2 epochs (12 steps) are done, nothing to train "
                + "(a larger --epochs continues it)"), again.err());
        assertTrue(again.out().contains(lastEpoch), "the summary keeps the last epoch's numbers (" + lastEpoch + "): " + again.out());
        assertTrue(lastEpoch.matches("last epoch: loss \\S+ lr \\S+ val_top1 \\S+ val_top5 \\S+"), lastEpoch);
    }

    @Test
    void aPlainPyTorchStateDictIsEvaluatedAndPredictedWithArchAndTheDataOrGivenClassNames() throws Exception {
        // what safetensors.torch.save_file(model.state_dict(), f) writes: torchvision keys, {"format": "pt"}, nothing about the network
        ModelSpec spec = ModelSpec.of("resnet18").withSmallStem(true).withWidth(0.125).withBlocks(1, 1, 1, 1);
        Path plain = dir.resolve("torch-state-dict.safetensors"), dvpFile = dir.resolve("same-weights-dvp.safetensors");
        try (Scope s = Scope.open("model")) {
            var net = spec.build(3, new Rng(5));
            dvp.nn.io.ModelFiles.save(net, plain);
            ModelExports.save(dvpFile, net, spec, ModelExports.Kind.CLASSIFIER, WNIDS, InputSpec.of(16, Normalize.IMAGENET));
        }
        String d = "vipriors:" + data;
        assertOneLine(dvp(args("evaluate", plain, "--data", d, "--device", "cpu")), "does not record which network it belongs to (a PyTorch "
                + "state dict?): give it with --arch (and --in-channels, --small-stem, --width, --blocks as it was built)");
        Run ev = dvp(args("evaluate", plain, NET, "--data", d, "--device", "cpu", "--workers", 2, "--image-size", 16));
        assertEquals(0, ev.code(), ev.err());
        Run same = dvp(args("evaluate", dvpFile, "--data", d, "--device", "cpu", "--workers", 2, "--image-size", 16));
        assertEquals(same.out(), ev.out(), "the same weights score the same from either file");
        assertOneLine(dvp(args("evaluate", dvpFile, "--arch", "resnet34", "--data", d, "--device", "cpu")),
                "--arch etc. describe resnet34 but " + dvpFile + " records resnet18 (small stem, width 0.125, blocks [1, 1, 1, 1])");

        Path csv = dir.resolve("torch.csv"), csvDvp = dir.resolve("torch-dvp.csv");
        Run pr = dvp(args("predict", plain, NET, "--data", d, "--output", csv, "--device", "cpu", "--workers", 2, "--image-size", 16));
        assertEquals(0, pr.code(), "class names from the data folder: " + pr.err());
        assertEquals(0, dvp(args("predict", dvpFile, "--data", d, "--output", csvDvp, "--device", "cpu", "--workers", 2)).code());
        assertEquals(Files.readAllLines(csvDvp), Files.readAllLines(csv));
        Path names = dir.resolve("classes.txt");
        Files.write(names, WNIDS);
        assertEquals(0, dvp(args("predict", plain, NET, "--classes", names, "--data", d, "--output", csv, "--device", "cpu", "--workers", 2,
                "--image-size", 16)).code());
        Files.write(names, List.of("n01443537", "n01440764", "n01484850"));
        assertOneLine(dvp(args("predict", plain, NET, "--classes", names, "--data", d, "--output", csv, "--device", "cpu")),
                "the model's classes are not the training set's");
        Files.write(names, List.of("a", "b"));
        assertOneLine(dvp(args("evaluate", plain, NET, "--classes", names, "--data", d, "--device", "cpu")),
                "--classes names 2 classes but " + plain + "'s fc has 3 outputs");
    }

    @Test
    void finetuneAndDistillInheritTheNetworkAndImageSizeOfThePretrainedWeightsAndSaySo() throws Exception {
        String d = "vipriors:" + data;
        Path pre = dir.resolve("inherit-pre");
        Run p = dvp(args("pretrain", "--data", d, NET, TINY, "--image-size", 16, "--epochs", 1, "--batch-size", 8, "--queue-size", 16,
                "--bn-splits", 2, "--dim", 8, "--run-dir", pre));
        assertEquals(0, p.code(), p.err());
        Path backbone = pre.resolve("export/backbone.safetensors");
        for (String command : List.of("finetune", "distill")) {
            Path run = dir.resolve("inherit-" + command);
            Run r = dvp(args(command, "--data", d, TINY, "--pretrained", backbone, "--epochs", 1, "--batch-size", 8, "--run-dir", run));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.err().contains("dvp: from --pretrained " + backbone + ": resnet18 (small stem, width 0.125, blocks [1, 1, 1, 1]), "
                    + "image size 16 px (--arch, --in-channels, --small-stem, --width, --blocks and --image-size override them)"), r.err());
            assertEquals(16, Json.readFile(run.resolve("config.json")).get("imageSize").asInt(), "trained at the pre-training's 16 px, not 224");
        }
        Run given = dvp(args("finetune", "--data", d, TINY, "--pretrained", pre, "--epochs", 1, "--batch-size", 8, "--image-size", 24,
                "--run-dir", dir.resolve("inherit-given")));
        assertEquals(0, given.code(), given.err());
        assertTrue(given.err().contains("dvp: from --pretrained " + pre + ": resnet18 (small stem, width 0.125, "
                + "blocks [1, 1, 1, 1]) (--arch"), "a run folder works too; the size given is kept: " + given.err());
        assertEquals(24, Json.readFile(dir.resolve("inherit-given/config.json")).get("imageSize").asInt());
    }

    @Test
    void aFileWhereAFolderIsNeededAndGrayscaleOnRgbAreSentencesWithExitCode2() throws Exception {
        String d = "vipriors:" + data;
        Path file = Files.writeString(dir.resolve("a-file"), "not a folder");
        assertOneLine(dvp(args("finetune", "--data", d, NET, TINY, "--run-dir", file)),
                "dvp finetune: --run-dir " + file + " is a file, not a folder; name a new folder or an existing run folder");
        assertOneLine(dvp(args("finetune", "--data", d, NET, TINY, "--runs-dir", file)), "--runs-dir " + file + " is a file, not a folder");
        assertOneLine(dvp(args("pipeline", "--data", d, NET, TINY, "--run-dir", file)), "--run-dir " + file + " is a file, not a folder");
        Run gray = dvp(args("pretrain", "--data", d, NET, TINY, "--in-channels", 1, "--image-size", 16, "--batch-size", 8, "--queue-size", 16,
                "--bn-splits", 2, "--dim", 8, "--runs-dir", dir.resolve("gray-runs")));
        assertOneLine(gray, "the images have 3 channels but the network, resnet18 (1-channel input, small stem, width 0.125, blocks [1, 1, 1, 1]), "
                + "takes 1: image folders are read as RGB, 3 channels (as torchvision's ImageFolder does): leave --in-channels out");
    }

    @Test
    void imagesOverThePixelLimitAreRefusedNamingTheLimitAndTheOption() throws Exception {
        Path model = randomModel("limit-model.safetensors");
        try {
            Run r = dvp(args("evaluate", model, "--data", "vipriors:" + data, "--device", "cpu", "--workers", 2, "--max-image-pixels", 255));
            assertOneLine(r, "16x16 = 256 pixels is over the limit of 255 (a decompression bomb? --max-image-pixels raises the limit");
            assertEquals(0, dvp(args("evaluate", model, "--data", "vipriors:" + data, "--device", "cpu", "--workers", 2, "--max-image-pixels", 256)).code());
            assertOneLine(dvp(args("evaluate", model, "--data", "vipriors:" + data, "--device", "cpu", "--max-image-pixels", -1)), "--max-image-pixels must be >= 0");
        } finally {
            dvp.training.data.decode.PixelLimit.set(dvp.training.data.decode.PixelLimit.PIL_DEFAULT);
        }
    }

    @Test
    void unreadableTrainingImagesAreReplacedAndSaidOncePerRunWithACount() throws Exception {
        Path bad = copyWithUnreadable("vip-badtrain", "train/n01440764/i0.png", "train/n01484850/i5.png");
        Run r = dvp(args("finetune", "--data", "vipriors:" + bad, NET, TINY, "--image-size", 16, "--eval-resize", 16, "--epochs", 3,
                "--batch-size", 8, "--run-dir", dir.resolve("badtrain")));
        assertEquals(0, r.code(), r.err());
        List<String> warnings = r.err().lines().filter(l -> l.contains("unreadable")).toList();
        assertEquals(1, warnings.size(), r.err());
        assertTrue(warnings.getFirst().startsWith("dvp: warning: 2 unreadable images (" + bad.resolve("train/n01440764/i0.png") + ", "
                + bad.resolve("train/n01484850/i5.png") + "; first: "), warnings.getFirst());
        assertTrue(warnings.getFirst().endsWith(") replaced by other training samples, 6 times in this run"), warnings.getFirst());
        assertFalse(r.err().contains("strict decoding"), r.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"pretrain", "linear-eval", "finetune", "distill", "evaluate", "predict", "pipeline", "demo", "study"})
    void everyCommandHasHelpWithExitCodes(String command) {
        Run r = dvp(command, "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Exit codes:") && r.out().contains("--device"), r.out());
    }
}
