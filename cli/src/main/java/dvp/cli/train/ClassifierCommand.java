package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.cli.ResumeArgs;
import dvp.cli.SessionOptionsMixin;
import dvp.cli.perf.ProfileOptionsMixin;
import dvp.engine.spi.Backend;
import dvp.training.loop.MetricsFormat;
import dvp.training.perf.StepProfiler;
import dvp.training.pipeline.DataSpec;
import dvp.training.checkpoint.SafetensorsTensorFile;
import dvp.training.session.TrainingSession;
import dvp.training.supervised.ClassifierConfig;
import dvp.training.supervised.ClassifierTrainer;
import dvp.training.supervised.PretrainedSettings;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** What linear-eval, finetune and distill share: data, network, run folder, profiling and the labelled-phase options. */
abstract class ClassifierCommand implements Callable<Integer>, ResumeArgs.Resumable {
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
    ClassifierOptions options;

    @Mixin
    SessionOptionsMixin run;

    @Mixin
    ProfileOptionsMixin profiling;

    @Mixin
    CudaGraphOption graph;

    @Mixin
    ChannelsLastOption channelsLast;

    /** The phase's own recipe before the options change it. */
    abstract ClassifierConfig base();

    /** The command's name (run folder prefix). */
    abstract String name();

    ClassifierConfig config() { return settings().config(); }

    /** The configuration, with the network and image size of the --pretrained weights where none is given. */
    PretrainedSettings settings() {
        ClassifierConfig c = options.apply(base(), dvp.seed());
        var m = model.spec(null);
        if (m != null) c = c.with(b -> b.model = m);
        c.validate();
        PretrainedSettings s = PretrainedSettings.inherit(c, m != null, options.imageSize != null);
        s.config().validate();
        return s;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        PretrainedSettings settings = settings();
        ClassifierConfig cfg = settings.config();
        if (!settings.inherited().isEmpty()) err.println("dvp: " + settings.describe());
        DataSpec.Splits splits = data.spec(dvp.seed(), splitting).open();
        StepProfiler.Options popts = profiling.toOptions(spec.commandLine());
        Backend be = StepProfiler.backendFor(run.compute.configure(dvp.device().select(err), err), popts);
        try (TrainingSession s = TrainingSession.open(name(), run.toSessionOptions(dvp.progress(), spec), cfg, be, SafetensorsTensorFile.INSTANCE,
                     WriterStream.of(err));
             StepProfiler prof = StepProfiler.open(be, popts, s.run().path().resolve("profile"), err);
             ClassifierTrainer t = new ClassifierTrainer(cfg, splits.train(), splits.val(), splits.normalize(), be, s)) {
            t.profiler(prof);
            t.cudaGraph(graph.enabled(popts.profile() || popts.nvtx()));
            t.channelsLast(channelsLast.enabled(be));
            Path exported = t.train();
            out.println(name() + ": " + splits.description() + "; " + t.spec().describe() + "; " + t.lastEpochMetricsLine());
            if (t.lastValidation() != null)
                out.println("val top-1 " + MetricsFormat.percent(t.lastValidation().top1()) + "%, top-5 "
                        + MetricsFormat.percent(t.lastValidation().top5()) + "% (last epoch)"
                        + s.checkpoints().best().map(b -> "; best top-1 " + MetricsFormat.percent(b.value()) + "% at step " + b.step()).orElse(""));
            out.println("model: " + exported);
            out.println("run folder: " + s.run().path());
        }
        return 0;
    }
}
