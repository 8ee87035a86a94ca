package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.cli.ResumeArgs;
import dvp.cli.SessionOptionsMixin;
import dvp.training.loop.OptimSpec;
import dvp.training.pipeline.PipelineConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code dvp pipeline}: phase 1 → phase 2 → evaluation, optionally with Table 1's comparison rows. */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = {"The whole method: pretrain (phase 1) -> distill (phase 2) -> evaluation, each stage in its own folder under the "
                + "pipeline's folder, ending with a results table (results.md). With --compare also the supervised baseline, phase 1 + linear "
                + "classifier and phase 1 + fine-tuning (Table 1). For an unlabelled test set (vipriors) it writes submission.csv. "
                + "--resume FOLDER reuses finished stages and continues the others.",
                "Phases use their own recipes (see pretrain/distill/linear-eval/finetune --help); the options below change the common knobs.", ""})
public final class PipelineCommand implements Callable<Integer>, ResumeArgs.Resumable {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    DataOptions data;

    @Mixin
    SplitOptions splitting;

    @Mixin
    ModelOptions model;

    @Mixin
    SessionOptionsMixin run;

    @Option(names = "--compare", description = "Also run Table 1's other rows: supervised, phase 1 + linear, phase 1 + finetune.")
    boolean compare;

    @Option(names = "--ten-crop", description = "Evaluate the test set with TenCrop (and write the submission with it).")
    boolean tenCrop;

    @Option(names = "--image-size", paramLabel = "PX", defaultValue = "224", description = "Crop size of every phase. Default: ${DEFAULT-VALUE}.")
    int imageSize;

    @Option(names = "--pretrain-epochs", paramLabel = "N", defaultValue = "200", description = "Phase-1 epochs. Default: ${DEFAULT-VALUE}.")
    int pretrainEpochs;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "100", description = "Epochs of distill, finetune and the baseline. Default: ${DEFAULT-VALUE}.")
    int epochs;

    @Option(names = "--linear-epochs", paramLabel = "N", defaultValue = "100", description = "Epochs of the linear classifier. Default: ${DEFAULT-VALUE}.")
    int linearEpochs;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "256", description = "Batch of every phase. Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--queue-size", paramLabel = "K", defaultValue = "4096", description = "Phase-1 queue. Default: ${DEFAULT-VALUE}.")
    int queueSize;

    @Option(names = "--margin", paramLabel = "M", defaultValue = "0.4", description = "Phase-1 margin (0 = plain MoCo v2). Default: ${DEFAULT-VALUE}.")
    double margin;

    @Option(names = "--label-smoothing", paramLabel = "EPS", defaultValue = "0", description = "Label smoothing of the labelled phases. Default: ${DEFAULT-VALUE}.")
    double labelSmoothing;

    @Option(names = "--auto-augment", paramLabel = "none|dvp|cifar10|imagenet", defaultValue = "none",
            description = "AutoAugment of the labelled phases. Default: ${DEFAULT-VALUE}.")
    String autoAugment;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    PipelineConfig config() {
        long seed = dvp.seed();
        var m = model.spec("resnet50");
        PipelineConfig c = PipelineConfig.defaults(data.spec(seed, splitting)).withCompare(compare).withTestTenCrop(tenCrop)
                .withPretrain(p -> p.with(b -> {
                    b.model = m;
                    b.imageSize = imageSize;
                    b.epochs = pretrainEpochs;
                    b.batchSize = batchSize;
                    b.queueSize = queueSize;
                    b.margin = margin;
                    b.workers = workers;
                    b.seed = seed;
                }).validate())
                .withClassifiers(k -> k.with(b -> {
                    b.imageSize = imageSize;
                    b.epochs = b.mode.equals("linear") ? linearEpochs : epochs;
                    b.batchSize = batchSize;
                    b.labelSmoothing = b.mode.equals("linear") ? 0 : labelSmoothing;
                    b.autoAugment = b.mode.equals("linear") ? "none" : autoAugment;
                    b.workers = workers;
                    b.seed = seed;
                }));
        return c;
    }

    @Override
    public Integer call() throws Exception {
        PipelineConfig cfg = config();
        return PipelineRunner.run(cfg, run.toSessionOptions(dvp.progress(), spec), "pipeline", run.compute.configure(dvp.device().select(spec.commandLine().getErr()), spec.commandLine().getErr()),
                spec.commandLine().getOut(), spec.commandLine().getErr());
    }
}
