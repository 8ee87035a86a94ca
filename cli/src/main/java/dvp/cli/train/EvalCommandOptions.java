package dvp.cli.train;

import dvp.training.data.loader.UnreadableImageException;
import dvp.training.eval.Classifiers;
import dvp.training.eval.EvalOptions;
import dvp.training.eval.EvalResult;
import dvp.training.eval.Evaluator;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;

/** The options evaluate and predict share: the models and how images are presented. */
public final class EvalCommandOptions {
    @Parameters(paramLabel = "MODEL", arity = "1..*",
            description = "Trained classifiers: export/model.safetensors of a finetune/linear-eval/distill run, a checkpoint, a run folder, "
                    + "or a state dict saved from PyTorch as safetensors (with --arch). Several models form an ensemble (softmax averaged).")
    List<Path> models;

    @Mixin
    ModelFileOptions files;

    @Option(names = "--ten-crop", description = "TenCrop: the four corners and the centre, and their mirror images; softmax averaged over the 10 views.")
    boolean tenCrop;

    @Option(names = "--image-size", paramLabel = "PX", description = "Crop size (default: the size the first model was trained at, else 224).")
    Integer imageSize;

    @Option(names = "--eval-resize", paramLabel = "PX", description = "Shorter side before cropping. Default: image size / 0.875.")
    Integer evalResize;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "256", description = "Images (times views) per batch. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    @Option(names = "--skip-unreadable", description = "Leave images that cannot be read or decoded out and list them (\"not scored\"), "
            + "instead of stopping at the first one with exit code 2.")
    boolean skipUnreadable;

    /** The evaluation's result, an unreadable image named with how to go on without it. */
    static EvalResult run(Evaluator ev, Classifiers.Ensemble ens) {
        try {
            return ev.run(ens.models(), ens.origins());
        } catch (UnreadableImageException e) {
            throw new BadInputException(e.getMessage() + " (--skip-unreadable scores the other images and lists the unreadable ones)", e);
        }
    }

    /** "not scored (unreadable): 2 images: a.png, b.png", or null when every image was read. */
    static String notScored(EvalResult r, String what) {
        if (r.unreadable().isEmpty()) return null;
        return what + " (unreadable): " + r.unreadable().size() + " image" + (r.unreadable().size() == 1 ? "" : "s") + ": "
                + String.join(", ", r.unreadable());
    }

    /** The models, with --arch and --classes for files that record neither. */
    Classifiers.Ensemble load(dvp.engine.spi.Backend backend) {
        return Classifiers.load(models, backend, files.spec(), files.classNames());
    }

    EvalOptions evalOptions(Classifiers.Ensemble e) {
        int size = imageSize != null ? imageSize : e.input() != null ? e.input().imageSize() : 224;
        if (size < 1) throw new BadInputException("--image-size must be positive, got " + size);
        EvalOptions o = new EvalOptions(size, evalResize == null ? 0 : evalResize, tenCrop, batchSize, workers, skipUnreadable);
        o.validate();
        return o;
    }
}
