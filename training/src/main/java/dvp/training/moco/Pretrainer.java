package dvp.training.moco;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.optim.Sgd;
import dvp.training.checkpoint.Stateful;
import dvp.training.data.ImageDataset;
import dvp.training.data.loader.Batch;
import dvp.training.data.loader.DataLoader;
import dvp.training.data.transforms.ColorJitter;
import dvp.training.data.transforms.MocoV2View;
import dvp.training.data.transforms.Normalize;
import dvp.training.data.transforms.RandomGaussianBlur;
import dvp.training.data.transforms.RandomGrayscale;
import dvp.training.data.transforms.RandomHorizontalFlip;
import dvp.training.data.transforms.RandomResizedCrop;
import dvp.training.data.transforms.ViewTransform;
import dvp.training.loop.EpochLoop;
import dvp.training.loop.Loaders;
import dvp.training.loop.OptimizerState;
import dvp.training.model.InputSpec;
import dvp.training.model.ModelExports;
import dvp.training.run.BadInputException;
import dvp.training.session.TrainingSession;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Phase 1 ({@code dvp pretrain}): MoCo v2 with the margin loss on unlabelled images (labels, if
 * any, are ignored). Per step: two augmented views, {@link MocoModel#step}, backward, SGD on f_q.
 * Logs the loss, the contrastive top-1/top-5 of the positive key among [positive, queue] both on the
 * margin-adjusted logits ({@code acc1_margin}, {@code acc5_margin}: what the reference code prints
 * as Acc@1/Acc@5) and on the plain cosines ({@code acc1}, {@code acc5}; see
 * {@link ContrastiveAccuracy}), lr, images/s and data wait; checkpoints both encoders, the queue
 * and its pointer, the momentum buffers and the loop position every epoch; at the end writes the
 * downstream backbone ({@code export/backbone.safetensors}: f_q without the MLP head).
 *
 * <pre>{@code
 * try (TrainingSession s = TrainingSession.open("pretrain", options, cfg, backend);
 *      Pretrainer p = new Pretrainer(cfg, images, Normalize.IMAGENET, backend, s)) {
 *     Path backbone = p.run();
 * }
 * }</pre>
 */
public final class Pretrainer extends EpochLoop implements AutoCloseable {
    // Memory: the constructor opens a Scope that owns the model, optimizer state and other long-lived
    // tensors until close(); as scopes nest per thread, close the trainer before any scope opened
    // earlier (try-with-resources does). Allocations made between construction and close() by the
    // caller on this thread also belong to it.
    /** Key of the per-step stream of key-shuffle permutations (a pure function of seed and step). */
    private static final long KEY_SHUFFLE = 0x4B53485546L;
    private final PretrainConfig cfg;
    private final Scope scope;
    private final MocoModel model;
    private final Sgd optimizer;
    private final DataLoader loader;
    private final Backend backend;
    private final Normalize normalize;

    public Pretrainer(PretrainConfig cfg, ImageDataset images, Normalize normalize, Backend backend, TrainingSession session) {
        this(cfg.validate(), images, normalize, backend, session, Scope.open("pretrain"));
    }

    private Pretrainer(PretrainConfig cfg, ImageDataset images, Normalize normalize, Backend backend, TrainingSession session, Scope scope) {
        this(cfg, session, scope, build(cfg, images, normalize, backend, scope));
    }

    private record Parts(MocoModel model, Sgd optimizer, DataLoader loader, Backend backend, Normalize normalize) {}

    private Pretrainer(PretrainConfig cfg, TrainingSession session, Scope scope, Parts p) {
        super("pretrain", session, p.loader(), p.optimizer(), cfg.schedule().build(cfg.epochs()), cfg.epochs(), cfg.logEvery(),
                "loss", "acc1_margin", "acc5_margin", "acc1", "acc5");
        this.cfg = cfg;
        this.scope = scope;
        this.model = p.model();
        this.optimizer = p.optimizer();
        this.loader = p.loader();
        this.backend = p.backend();
        this.normalize = p.normalize();
        session.checkpoints()
                .track("encoder_q", Stateful.module(model.encoderQ()))
                .track("encoder_k", Stateful.module(model.encoderK()))
                .track("queue", Stateful.tensors(() -> Map.of("keys", model.queue(), "ptr", model.queuePtr())))
                .track("optimizer", new OptimizerState(optimizer));
        var resolved = InputSpec.of(cfg.imageSize(), normalize).addTo(cfg);
        session.config(resolved);
    }

    private static Parts build(PretrainConfig cfg, ImageDataset images, Normalize normalize, Backend backend, Scope scope) {
        try (var use = Backends.use(backend)) {
            cfg.model().requireImageChannels(normalize.channels());
            MocoModel model = new MocoModel(cfg.model(), cfg.dim(), cfg.queueSize(), cfg.bnSplits(), cfg.keyMomentum(), cfg.margin(),
                    cfg.temperature(), new Rng(cfg.seed()));
            Sgd sgd = cfg.optim().build(model.encoderQ().namedParameters());
            ViewTransform view = view(cfg);
            DataLoader loader = Loaders.train(images, List.of(view, view), normalize, cfg.batchSize(), true, cfg.workers(), cfg.seed(), backend);
            return new Parts(model, sgd, loader, backend, normalize);
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /** One view of the two-view pipeline (§4.1), with the configured blur probability. */
    static ViewTransform view(PretrainConfig cfg) {
        if (cfg.augmentation().equals("mocov1")) return MocoV2View.mocoV1(cfg.imageSize());
        return new MocoV2View(cfg.imageSize(), RandomResizedCrop.MOCO, ColorJitter.MOCO_V2, new RandomGrayscale(0.2),
                new RandomGaussianBlur(cfg.blurProbability(), 0.1, 2.0), RandomHorizontalFlip.HALF);
    }

    public MocoModel model() { return model; }

    /**
     * Runs both encoders channels-last ({@link dvp.nn.models.ResNet#channelsLast(boolean)}): the
     * key encoder is an EMA of the query encoder and sees the same kind of input, so they share a
     * layout. Changes the activations' layout only (weights, queue and checkpoints are the same).
     * Set before {@link #train()}: a captured step keeps the layout it was captured with.
     */
    public void channelsLast(boolean on) {
        if (graphedStep() != null) throw new IllegalStateException("channelsLast(" + on + ") after the first step; set it before train()");
        model.encoderQ().channelsLast(on);
        model.encoderK().channelsLast(on);
    }

    public Sgd optimizer() { return optimizer; }

    /** Trains (or continues after --resume) and writes the downstream backbone; returns its path. */
    public Path train() throws IOException {
        run();
        Path out = session().run().path().resolve("export").resolve("backbone.safetensors");
        ModelExports.save(out, model.encoderQ(), cfg.model(), ModelExports.Kind.BACKBONE, List.of(), InputSpec.of(cfg.imageSize(), normalize));
        return out;
    }

    @Override
    protected void beforeEpoch(int epoch) {
        model.encoderQ().train();
        model.encoderK().train(); // batch statistics for the keys too (their running stats are f_k's own)
    }

    @Override
    protected Tensor[] trainStep(Batch b, int epoch, long step) {
        Tensor xq = b.views().get(0), xk = b.views().get(1);
        Tensor[] in = {xq, xk};
        if (cfg.shuffleKeys()) {
            // the permutation is drawn on the host (a function of seed and step) and reaches the step as index tensors
            int[] order = new Rng(cfg.seed()).fork(KEY_SHUFFLE).fork(step).permutation(b.size());
            MocoModel.KeyShuffle ks = MocoModel.KeyShuffle.of(xk.backend(), order, b.size());
            in = new Tensor[]{xq, xk, ks.order(), ks.inverse()};
        }
        return graphedStep(xq.backend(), Map.of("encoder_q", model.encoderQ(), "encoder_k", model.encoderK()))
                .run("moco", in, this::mocoStep);
    }

    /** The captured part: both encoders, loss, enqueue, EMA, backward, SGD; inputs x_q, x_k[, shuffle order, inverse]. */
    private Tensor[] mocoStep(Tensor[] in) {
        MocoModel.KeyShuffle ks = in.length == 4 ? new MocoModel.KeyShuffle(in[2], in[3]) : null;
        optimizer.zeroGrad();
        MocoModel.Step r = model.step(in[0], in[1], ks, true);
        r.loss().backward();
        optimizer.step();
        return new Tensor[]{r.loss(), r.accuracy(), r.ranks().top5Margin(), r.ranks().top1(), r.ranks().top5()};
    }

    @Override
    public void close() {
        closeGraphs();
        loader.close();
        optimizer.close();
        if (!scope.isClosed()) scope.close();
    }
}
