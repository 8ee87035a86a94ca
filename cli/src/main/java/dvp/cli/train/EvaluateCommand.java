package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.engine.Scope;
import dvp.engine.spi.Backend;
import dvp.training.data.ImageDataset;
import dvp.training.data.transforms.Normalize;
import dvp.training.eval.Classifiers;
import dvp.training.eval.EvalOptions;
import dvp.training.eval.EvalResult;
import dvp.training.eval.Evaluator;
import dvp.training.loop.MetricsFormat;
import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code dvp evaluate}: top-1/top-5 of one model or an ensemble on a labelled split. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = {"Top-1 and top-5 accuracy of a trained classifier, or of an ensemble of several (softmax averaged), on a labelled "
                + "split, with the centre crop or TenCrop.", ""})
public final class EvaluateCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    DataOptions data;

    @Mixin
    SplitOptions splitting;

    @Mixin
    EvalCommandOptions eval;

    @Option(names = "--split", paramLabel = "val|test|train", defaultValue = "val", description = "Which split to score. Default: ${DEFAULT-VALUE}.")
    String split;

    @Option(names = "--output", paramLabel = "FILE", description = "Also write the result as JSON.")
    Path output;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        DataSpec.Splits splits = data.spec(dvp.seed(), splitting).open();
        ImageDataset ds = switch (split) {
            case "val" -> splits.val();
            case "test" -> splits.test();
            case "train" -> splits.train();
            default -> throw new BadInputException("--split must be val, test or train, got '" + split + "'");
        };
        if (ds == null) throw new BadInputException("--data " + data.data + " has no " + split + " split");
        if (ds.numClasses() == 0) throw new BadInputException("the " + split + " split has no labels; use 'dvp predict' for a submission");
        Backend be = dvp.device().select(err);
        try (Scope scope = Scope.open("evaluate")) {
            Classifiers.Ensemble ens = eval.load(be);
            checkClasses(ens, ds, split);
            if (!ens.hasClassNames()) ens = ens.withClasses(ds.classes()); // a PyTorch state dict: the data's class names
            EvalOptions o = eval.evalOptions(ens);
            Normalize norm = ens.input() != null ? ens.input().normalize() : splits.normalize();
            EvalResult r;
            try (Evaluator ev = new Evaluator(ds, norm, o, be)) {
                r = EvalCommandOptions.run(ev, ens);
            }
            String what = (ens.models().size() == 1 ? "1 model" : ens.models().size() + " models (ensemble)") + ", " + split + " of "
                    + splits.description() + ", " + r.count() + " images, " + (o.tenCrop() ? "TenCrop " : "centre crop ") + o.size() + " px";
            out.println("top-1 " + MetricsFormat.percent(r.top1()) + "%  top-5 " + MetricsFormat.percent(r.top5()) + "%  (" + what + ")");
            String skipped = EvalCommandOptions.notScored(r, "not scored");
            if (skipped != null) out.println(skipped);
            if (output != null) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("top1", r.top1());
                m.put("top5", r.top5());
                m.put("images", r.count());
                m.put("not_scored", r.unreadable());
                m.put("split", split);
                m.put("ten_crop", o.tenCrop());
                m.put("image_size", o.size());
                m.put("models", ens.origins());
                Json.writeFile(output, m);
            }
        }
        return 0;
    }

    /**
     * Model output i is scored against the split's label i, so the class lists must be the same; only
     * a model that records no class names (a plain state dict) is trusted on the count alone.
     */
    static void checkClasses(Classifiers.Ensemble ens, ImageDataset ds, String split) {
        List<String> model = ens.classes();
        if (model.size() != ds.numClasses())
            throw new BadInputException("the model predicts " + model.size() + " classes but the " + split + " split has " + ds.numClasses());
        if (ens.hasClassNames() && !model.equals(ds.classes()))
            throw new BadInputException("the model's classes are not the " + split + " split's (" + ImageDataset.firstClassDifference(model, ds.classes())
                    + "); its predictions would be scored against other labels");
    }
}
