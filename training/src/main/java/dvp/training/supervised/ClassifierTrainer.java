package dvp.training.supervised;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.ops.Elementwise;
import dvp.engine.ops.Losses;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.Init;
import dvp.nn.LoadOptions;
import dvp.nn.models.ResNet;
import dvp.nn.models.StageFeatures;
import dvp.nn.optim.Sgd;
import dvp.training.checkpoint.Stateful;
import dvp.training.data.ImageDataset;
import dvp.training.data.loader.Batch;
import dvp.training.data.loader.DataLoader;
import dvp.training.data.transforms.AutoAugment;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.RandomHorizontalFlip;
import dvp.training.data.transforms.RandomResizedCrop;
import dvp.training.data.transforms.TrainView;
import dvp.training.distill.OfdDistiller;
import dvp.training.eval.EvalOptions;
import dvp.training.eval.EvalResult;
import dvp.training.eval.Evaluator;
import dvp.training.loop.EpochLoop;
import dvp.training.loop.Loaders;
import dvp.training.loop.OptimizerState;
import dvp.training.model.InputSpec;
import dvp.training.model.ModelExports;
import dvp.training.model.ModelSpec;
import dvp.training.run.BadInputException;
import dvp.training.session.TrainingSession;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The labelled phases on one loop ({@link ClassifierConfig#mode()}):
 * <ul>
 *   <li>{@code linear}: the backbone is frozen (no parameter requires grad, none is in the
 *       optimizer) and stays in <b>eval mode</b> during training, so its BN running statistics are
 *       the pretrained ones and never change; fc is re-initialised N(0, 0.01), bias 0. After
 *       training the backbone is compared bit for bit with its state at the start (MoCo's
 *       {@code sanity_check}); any difference is an error.</li>
 *   <li>{@code finetune}: every layer trains (from the pretrained backbone, or from random init:
 *       the supervised baseline).</li>
 *   <li>{@code distill}: fine-tuning plus OFD from a frozen teacher ({@link OfdDistiller}) that
 *       starts bit-identical to the student (self-distillation) unless another teacher is given;
 *       CE only during the warm-up epochs; teacher and student see the same augmented batch;
 *       connectors are trained with the student and left out of the exported model.</li>
 * </ul>
 * Validation (centre crop) every {@code evalEvery} epochs picks the {@code best} checkpoint by
 * top-1; the exported model ({@code export/model.safetensors}) is the last epoch's.
 */
public final class ClassifierTrainer extends EpochLoop implements AutoCloseable {
    // Memory: the constructor opens a Scope that owns the model, optimizer state and other long-lived
    // tensors until close(); as scopes nest per thread, close the trainer before any scope opened
    // earlier (try-with-resources does). Allocations made between construction and close() by the
    // caller on this thread also belong to it.
    private final ClassifierConfig cfg;
    private final Scope scope;
    private final ResNet model;
    private final ModelSpec spec;
    private final OfdDistiller distiller;
    private final Sgd optimizer;
    private final DataLoader loader;
    private final Evaluator validation;
    private final List<String> classes;
    private final Map<String, float[]> frozenBackbone;
    private final float smoothing;
    private final Normalize normalize;
    private EvalResult lastValidation;

    private record Parts(ClassifierConfig cfg, ModelSpec spec, ResNet model, OfdDistiller distiller, Sgd optimizer, DataLoader loader,
                         Evaluator validation, List<String> classes, Map<String, float[]> frozenBackbone, Normalize normalize) {}

    /**
     * @param val labelled validation images, or null for none
     */
    public ClassifierTrainer(ClassifierConfig cfg, ImageDataset train, ImageDataset val, Normalize normalize, Backend backend,
                             TrainingSession session) {
        this(session, Scope.open(cfg.mode()), cfg, train, val, normalize, backend);
    }

    private ClassifierTrainer(TrainingSession session, Scope scope, ClassifierConfig cfg, ImageDataset train, ImageDataset val,
                              Normalize normalize, Backend backend) {
        this(session, scope, build(scope, cfg, train, val, normalize, backend));
    }

    private ClassifierTrainer(TrainingSession session, Scope scope, Parts p) {
        super(p.cfg().isDistill() ? "distill" : p.cfg().isLinear() ? "linear-eval" : "finetune", session, p.loader(), p.optimizer(),
                p.cfg().effectiveSchedule().build(p.cfg().epochs()), p.cfg().epochs(), p.cfg().logEvery(),
                p.cfg().isDistill() ? new String[]{"loss", "ce", "distill", "distill_1", "distill_2", "distill_3", "distill_4"}
                        : new String[]{"loss"});
        this.cfg = p.cfg();
        this.scope = scope;
        this.spec = p.spec();
        this.model = p.model();
        this.distiller = p.distiller();
        this.optimizer = p.optimizer();
        this.loader = p.loader();
        this.validation = p.validation();
        this.classes = p.classes();
        this.frozenBackbone = p.frozenBackbone();
        this.smoothing = (float) cfg.labelSmoothing();
        this.normalize = p.normalize();
        var ck = session.checkpoints().classNames(classes).keepBestBy("val_top1", true);
        // the resolved network and input go into config.json and every checkpoint, so evaluate/distill can rebuild it
        var resolved = InputSpec.of(cfg.imageSize(), normalize).addTo(cfg.with(b -> b.model = spec));
        session.config(resolved);
        ck.track(cfg.isDistill() ? "student" : "model", Stateful.module(model));
        if (distiller != null) {
            ck.track("connectors", Stateful.module(distiller.connectors()));
            ck.track("teacher", Stateful.module(distiller.teacher()));
        }
        ck.track("optimizer", new OptimizerState(optimizer));
    }

    /**
     * Labels are class indices in each split's own sorted class list, so a split (null: none) whose
     * classes are not the training set's would be scored against shifted labels: bad input.
     */
    public static void requireSameClasses(String split, ImageDataset d, ImageDataset train) {
        if (d == null || d.classes().equals(train.classes())) return;
        throw new BadInputException("the " + split + " set's classes differ from the training set's (" + d.numClasses() + " vs "
                + train.numClasses() + ": " + ImageDataset.firstClassDifference(d.classes(), train.classes()) + "); its labels would not match the model's");
    }

    private static Parts build(Scope scope, ClassifierConfig cfg, ImageDataset train, ImageDataset val, Normalize normalize, Backend backend) {
        DataLoader loader = null;
        try (var use = Backends.use(backend)) {
            cfg.validate();
            if (train.numClasses() < 2) throw new BadInputException("the training set needs labels of at least 2 classes, found " + train.numClasses());
            requireSameClasses("validation", val, train);
            Rng rng = new Rng(cfg.seed());
            ModelSpec spec;
            ResNet model;
            ResNet teacher = null;
            try (Scope tmp = Scope.open("load-weights")) {
                ModelExports.Weights w = cfg.pretrained() == null ? null : ModelExports.read(cfg.pretrained(), backend);
                spec = resolveSpec(cfg.model(), w);
                spec.requireImageChannels(normalize.channels());
                model = Scope.allocatingIn(scope, () -> spec.build(train.numClasses(), rng.fork(1)));
                if (w != null) ModelExports.loadBackbone(model, w);
                if (cfg.isDistill()) {
                    ModelExports.Weights tw = cfg.distill().teacher() == null ? null : ModelExports.read(cfg.distill().teacher(), backend);
                    ModelSpec tspec = tw == null ? spec : resolveSpec(null, tw);
                    // OFD compares the stage features element by element: the stems must shrink the image alike
                    // (otherwise the first distillation step, after the warm-up epochs, would fail on the shapes)
                    if (tspec.smallStem() != spec.smallStem())
                        throw new BadInputException("--teacher " + tw.origin() + " is " + tspec.describe() + " but the student is " + spec.describe()
                                + ": with " + (spec.smallStem() ? "a small and a standard" : "a standard and a small")
                                + " stem their stage features have different sizes, so they cannot be distilled");
                    teacher = Scope.allocatingIn(scope, () -> tspec.build(train.numClasses(), rng.fork(1)));
                    // self-distillation: the teacher starts as an exact copy of the student (fc included; the teacher's fc is unused)
                    if (tw == null) teacher.loadStateDict(model.stateDict(), LoadOptions.strict());
                    else ModelExports.loadBackbone(teacher, tw);
                }
            }
            Map<String, float[]> frozen = null;
            if (cfg.isLinear()) {
                // main_lincls.py: fc.weight ~ N(0, 0.01), fc.bias = 0; everything else frozen
                dvp.nn.Linear fc = (dvp.nn.Linear) model.fc();
                Init.normal(fc.weight(), 0, 0.01, rng.fork(2));
                Init.constant(fc.bias(), 0);
                model.requiresGrad(false);
                fc.requiresGrad(true);
                frozen = snapshotBackbone(model);
            }
            OfdDistiller distiller = teacher == null ? null : new OfdDistiller(teacher, model, cfg.distill(), rng.fork(3));
            Map<String, Tensor> params = new LinkedHashMap<>();
            if (cfg.isLinear()) model.fc().namedParameters().forEach((k, v) -> params.put("fc." + k, v));
            else model.namedParameters().forEach((k, v) -> params.put(cfg.isDistill() ? "student." + k : k, v));
            if (distiller != null) distiller.connectors().namedParameters().forEach((k, v) -> params.put("connectors." + k, v));
            Sgd sgd = cfg.optim().build(params);
            AutoAugment.Policy aa = cfg.autoAugmentPolicy();
            TrainView view = new TrainView(cfg.imageSize(), RandomResizedCrop.DEFAULT, RandomHorizontalFlip.HALF, aa == null ? null : new AutoAugment(aa));
            loader = Loaders.train(train, List.of(view), normalize, cfg.batchSize(), cfg.dropLast(), cfg.workers(), cfg.seed(), backend);
            Evaluator validation = val == null ? null : new Evaluator(val, normalize,
                    new EvalOptions(cfg.imageSize(), cfg.evalResize(), false, cfg.evalBatchSize(), cfg.workers()), backend);
            return new Parts(cfg, spec, model, distiller, sgd, loader, validation, train.classes(), frozen, normalize);
        } catch (RuntimeException e) {
            if (loader != null) loader.close();
            scope.close();
            throw e;
        }
    }

    /** The network to build: the one given, else the one the weights record; both must agree when both are known. */
    static ModelSpec resolveSpec(ModelSpec given, ModelExports.Weights w) {
        if (w == null) return given;
        if (given == null) {
            if (w.spec() == null)
                throw new BadInputException(w.origin() + " does not record which network it belongs to; pass --arch (and --in-channels, --small-stem, --width)");
            return w.spec();
        }
        if (w.spec() != null && !w.spec().equals(given))
            throw new BadInputException("--arch etc. describe " + given.describe() + " but " + w.origin() + " holds " + w.spec().describe());
        return given;
    }

    private static Map<String, float[]> snapshotBackbone(ResNet model) {
        Map<String, float[]> m = new LinkedHashMap<>();
        model.stateDict().forEach((k, t) -> {
            if (k.startsWith("fc.")) return;
            m.put(k, t.dtype() == dvp.engine.DType.F32 ? t.toFloatArray() : toFloats(t.toLongArray()));
        });
        return m;
    }

    private static float[] toFloats(long[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    public ResNet model() { return model; }

    /**
     * Runs the model channels-last ({@link ResNet#channelsLast(boolean)}), and in distill mode the
     * frozen teacher too, so the OFD terms compare features of one layout. Changes the layout of the
     * activations only (weights, checkpoints and exports are the same), so it may differ between a
     * run and its resumption. Set before {@link #train()}: a captured step keeps the layout it was
     * captured with.
     */
    public void channelsLast(boolean on) {
        if (graphedStep() != null) throw new IllegalStateException("channelsLast(" + on + ") after the first step; set it before train()");
        model.channelsLast(on);
        if (distiller != null) distiller.teacher().channelsLast(on);
    }

    public ModelSpec spec() { return spec; }

    /** The distiller (teacher, connectors, margins), or null outside distill mode. */
    public OfdDistiller distiller() { return distiller; }

    public Sgd optimizer() { return optimizer; }

    public List<String> classes() { return classes; }

    /** The last validation result, or null when none ran. */
    public EvalResult lastValidation() { return lastValidation; }

    /** Trains (or continues after --resume), checks the frozen backbone (linear) and exports the model; returns the export's path. */
    public Path train() throws IOException {
        run();
        // a run resumed from its final checkpoint trains no epoch here: validate once for the summary
        if (validation != null && lastValidation == null) lastValidation = validation.run(model);
        if (frozenBackbone != null) checkBackboneUnchanged();
        Path out = session().run().path().resolve("export").resolve("model.safetensors");
        ModelExports.save(out, model, spec, ModelExports.Kind.CLASSIFIER, classes, InputSpec.of(cfg.imageSize(), normalize));
        return out;
    }

    /** Linear eval's sanity check: every backbone tensor (BN statistics included) is bit-identical to the start. */
    void checkBackboneUnchanged() {
        Map<String, float[]> now = snapshotBackbone(model);
        for (var e : frozenBackbone.entrySet()) {
            float[] a = e.getValue(), b = now.get(e.getKey());
            for (int i = 0; i < a.length; i++)
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]))
                    throw new IllegalStateException("linear eval: backbone tensor '" + e.getKey() + "' changed during training (element " + i
                            + ": " + a[i] + " -> " + b[i] + "); the backbone must stay frozen");
        }
    }

    @Override
    protected void beforeEpoch(int epoch) {
        if (cfg.isLinear()) model.eval(); // frozen BN statistics (main_lincls.py keeps the model in eval mode)
        else model.train();
        if (distiller != null) distiller.train();
    }

    @Override
    protected Tensor[] trainStep(Batch b, int epoch, long step) {
        boolean distills = distiller != null && cfg.distill().distillsAt(epoch);
        Map<String, dvp.nn.Module> modules = new LinkedHashMap<>();
        modules.put("model", model);
        if (distiller != null) {
            modules.put("teacher", distiller.teacher());
            modules.put("connectors", distiller.connectors());
        }
        // distillation on and off are different steps on the same shapes: each is captured on its own
        return graphedStep(b.images().backend(), modules).run(distills ? "distill" : "ce", new Tensor[]{b.images(), b.labels()},
                in -> step(in[0], in[1], distills));
    }

    /** The captured part: forward, loss(es), backward, SGD. */
    private Tensor[] step(Tensor x, Tensor y, boolean distills) {
        optimizer.zeroGrad();
        Tensor[] out;
        if (distiller == null) {
            Tensor loss = Losses.crossEntropy(model.forward(x), y, smoothing);
            out = new Tensor[]{loss};
        } else {
            StageFeatures sf = model.forwardWithFeatures(x);
            Tensor ce = Losses.crossEntropy(sf.logits(), y, smoothing);
            if (distills) {
                Tensor[] st = distiller.stageTerms(sf, x); // each stage's share of the term, logged as distill_1..4
                Tensor d = Elementwise.add(Elementwise.add(Elementwise.add(st[0], st[1]), st[2]), st[3]); // loss()'s order: same rounding
                out = new Tensor[]{Elementwise.add(ce, d), ce, d, st[0], st[1], st[2], st[3]};
            } else {
                // warm-up: CE only. The teacher's and connectors' forward would only move their BN running
                // statistics, which are never used, so it is skipped.
                Tensor zero = Tensor.zeros(x.backend());
                out = new Tensor[]{ce, ce, zero, zero, zero, zero, zero};
            }
        }
        out[0].backward();
        optimizer.step();
        return out;
    }

    @Override
    protected Map<String, Double> endOfEpoch(int epoch) {
        if (validation == null) return Map.of();
        boolean last = epoch == cfg.epochs() - 1;
        if (!last && (epoch + 1) % cfg.evalEvery() != 0) return Map.of();
        lastValidation = validation.run(model);
        return lastValidation.metrics("val_");
    }

    @Override
    public void close() {
        closeGraphs();
        loader.close();
        if (validation != null) validation.close();
        optimizer.close();
        if (!scope.isClosed()) scope.close();
    }
}
