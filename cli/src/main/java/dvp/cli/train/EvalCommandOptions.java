package dvp.cli.train;

import dvp.training.eval.Classifiers;
import dvp.training.eval.EvalOptions;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;

/** The options evaluate and predict share: the models and how images are presented. */
public final class EvalCommandOptions {
    @Parameters(paramLabel = "MODEL", arity = "1..*",
            description = "Trained classifiers: export/model.safetensors of a finetune/linear-eval/distill run, a checkpoint or a run folder. "
                    + "Several models form an ensemble (softmax averaged).")
    List<Path> models;

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

    EvalOptions evalOptions(Classifiers.Ensemble e) {
        int size = imageSize != null ? imageSize : e.input() != null ? e.input().imageSize() : 224;
        if (size < 1) throw new BadInputException("--image-size must be positive, got " + size);
        EvalOptions o = new EvalOptions(size, evalResize == null ? 0 : evalResize, tenCrop, batchSize, workers);
        o.validate();
        return o;
    }
}
