package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.cli.ResumeArgs;
import dvp.cli.SessionOptionsMixin;
import dvp.training.pipeline.Demo;
import dvp.training.pipeline.PipelineConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code dvp demo}: the pipeline with the comparison rows on Fashion-MNIST, small enough for a laptop CPU. */
@Command(name = "demo", mixinStandardHelpOptions = true, defaultValueProvider = DemoCommand.StandardSize.class,
        description = {"Runs the whole method with Table 1's comparison rows on Fashion-MNIST in the VIPriors regime (50 training + "
                + "50 validation images per class from the training file, the official 10,000 test images as test) with a small ResNet: "
                + "supervised baseline, phase 1 + linear classifier, phase 1 + fine-tuning, phase 1 + phase 2. Ends with the results table. "
                + "About " + DemoCommand.MINUTES + " minutes on an idle 2-core CPU with the defaults below and libdnnl2 (oneDNN) installed, "
                + "about 5 with dvp's own convolution kernels (--device auto uses a GPU when there is one); larger sizes take longer.",
                "Needs Fashion-MNIST: apt-get install dataset-fashion-mnist (or --fashion-mnist DIR with its IDX files).", ""})
public final class DemoCommand implements Callable<Integer>, ResumeArgs.Resumable {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    SessionOptionsMixin run;

    /**
     * The default size's wall time on the idle 2-core development machine with oneDNN, as measured (2m26s in docs/demo.md, 3m30s
     * in issue 19's run); the README's main command says the same.
     */
    static final String MINUTES = "3";

    private static final Demo.Size STANDARD = Demo.Size.standard();

    /** The option defaults are the standard size's values, so --help shows numbers. */
    static final class StandardSize implements CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(CommandLine.Model.ArgSpec a) {
            if (!(a instanceof CommandLine.Model.OptionSpec o)) return null;
            return switch (o.longestName()) {
                case "--per-class" -> Integer.toString(STANDARD.trainPerClass());
                case "--val-per-class" -> Integer.toString(STANDARD.valPerClass());
                case "--pretrain-epochs" -> Integer.toString(STANDARD.pretrainEpochs());
                case "--epochs" -> Integer.toString(STANDARD.epochs());
                case "--linear-epochs" -> Integer.toString(STANDARD.linearEpochs());
                case "--width" -> Double.toString(STANDARD.width());
                case "--blocks" -> Integer.toString(STANDARD.blocks());
                case "--batch-size" -> Integer.toString(STANDARD.batchSize());
                default -> null;
            };
        }
    }

    @Option(names = "--fashion-mnist", paramLabel = "DIR", description = "Folder of the Fashion-MNIST IDX files. Default: /usr/share/datasets/fashion-mnist.")
    Path dir;

    @Option(names = "--per-class", paramLabel = "N", description = "Training images per class. Default: ${DEFAULT-VALUE}.")
    Integer perClass;

    @Option(names = "--val-per-class", paramLabel = "N", description = "Validation images per class. Default: ${DEFAULT-VALUE}.")
    Integer valPerClass;

    @Option(names = "--pretrain-epochs", paramLabel = "N", description = "Phase-1 epochs. Default: ${DEFAULT-VALUE}.")
    Integer pretrainEpochs;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs of distill, finetune and the baseline. Default: ${DEFAULT-VALUE}.")
    Integer epochs;

    @Option(names = "--linear-epochs", paramLabel = "N", description = "Epochs of the linear classifier. Default: ${DEFAULT-VALUE}.")
    Integer linearEpochs;

    @Option(names = "--width", paramLabel = "M", description = "Width multiplier of the resnet18 (1 = 64 channels in the first stage). Default: ${DEFAULT-VALUE}.")
    Double width;

    @Option(names = "--blocks", paramLabel = "N",
            description = "Residual blocks per stage of the resnet18: 1 (blocks [1, 1, 1, 1], a ResNet-10 layout; the results table "
                    + "says 'resnet18 (... blocks [1, 1, 1, 1])') or 2 (resnet18's own). Default: ${DEFAULT-VALUE}.")
    Integer blocks;

    @Option(names = "--batch-size", paramLabel = "N", description = "Batch of every phase. Default: ${DEFAULT-VALUE}.")
    Integer batchSize;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "0", description = "Data-loading threads (0 = one per core).")
    int workers;

    Demo.Size size() {
        Demo.Size s = STANDARD;
        return new Demo.Size(perClass != null ? perClass : s.trainPerClass(), valPerClass != null ? valPerClass : s.valPerClass(),
                pretrainEpochs != null ? pretrainEpochs : s.pretrainEpochs(), epochs != null ? epochs : s.epochs(),
                linearEpochs != null ? linearEpochs : s.linearEpochs(), width != null ? width : s.width(), blocks != null ? blocks : s.blocks(),
                batchSize != null ? batchSize : s.batchSize());
    }

    @Override
    public Integer call() throws Exception {
        PipelineConfig cfg = Demo.config(size(), dir, dvp.seed(), workers);
        return PipelineRunner.run(cfg, run.toSessionOptions(dvp.progress(), spec), "demo", run.compute.configure(dvp.device().select(spec.commandLine().getErr()), spec.commandLine().getErr()),
                spec.commandLine().getOut(), spec.commandLine().getErr());
    }
}
