package dvp.cli.train;

import dvp.cli.Dvp;
import dvp.engine.Scope;
import dvp.engine.spi.Backend;
import dvp.training.data.UnlabeledImages;
import dvp.training.data.transforms.Normalize;
import dvp.training.eval.Classifiers;
import dvp.training.eval.EvalOptions;
import dvp.training.eval.EvalResult;
import dvp.training.eval.Evaluator;
import dvp.training.eval.Submission;
import dvp.training.pipeline.DataSpec;
import dvp.training.run.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code dvp predict}: the VIPriors submission CSV from one model or an ensemble. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = {"Classifies the unlabelled test images (vipriors: ROOT/test/imgs/img_<i>.JPEG) with a model or an ensemble and "
                + "writes the challenge's CSV ('Image IDs,Predictions', one row per image, class index in sorted-wnid order). The file is "
                + "checked after writing: every test image exactly once.", ""})
public final class PredictCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    Dvp dvp;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    DataOptions data;

    @Mixin
    EvalCommandOptions eval;

    @Option(names = "--output", paramLabel = "FILE", defaultValue = "submission.csv", description = "Where to write the CSV. Default: ${DEFAULT-VALUE}.")
    Path output;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        DataSpec.Splits splits = data.spec(dvp.seed(), null).open();
        if (!(splits.test() instanceof UnlabeledImages test))
            throw new BadInputException("--data " + data.data + " has no unlabelled test images (expected vipriors:ROOT with test/imgs/img_<i>.JPEG)");
        Backend be = dvp.device().select(err);
        try (Scope scope = Scope.open("predict")) {
            Classifiers.Ensemble ens = eval.load(be);
            if (!ens.hasClassNames()) {
                // a PyTorch state dict: its outputs are taken to be the training set's classes, in their (sorted) order
                if (ens.classes().size() != splits.classes().size())
                    throw new BadInputException("the model predicts " + ens.classes().size() + " classes but the training set has "
                            + splits.classes().size() + "; its indices would not be the challenge's");
                ens = ens.withClasses(splits.classes());
            }
            if (!ens.classes().equals(splits.classes()))
                throw new BadInputException("the model's classes are not the training set's (" + ens.classes().size() + " vs "
                        + splits.classes().size() + "); its indices would not be the challenge's");
            EvalOptions o = eval.evalOptions(ens);
            Normalize norm = ens.input() != null ? ens.input().normalize() : splits.normalize();
            EvalResult r;
            try (Evaluator ev = new Evaluator(test, norm, o, be)) {
                r = EvalCommandOptions.run(ev, ens);
            }
            int rows = Submission.write(output, test, r.predictions(), ens.classes());
            out.println("wrote " + output + ": " + rows + " rows (" + (r.unreadable().isEmpty() ? "every test image once" : "every readable test image once")
                    + "), " + (ens.models().size() == 1 ? "1 model" : ens.models().size() + " models averaged") + ", "
                    + (o.tenCrop() ? "TenCrop" : "centre crop") + " " + o.size() + " px");
            String skipped = EvalCommandOptions.notScored(r, "not predicted, no row");
            if (skipped != null) out.println(skipped);
        }
        return 0;
    }
}
