package dvp.cli.train;

import dvp.training.supervised.ClassifierConfig;
import picocli.CommandLine.Command;

/** {@code dvp linear-eval}: a linear classifier on the frozen phase-1 backbone (ALGORITHMS §6.1). */
@Command(name = "linear-eval", mixinStandardHelpOptions = true,
        description = {"Linear evaluation (Table 1 'finetune fc'): the --pretrained backbone is frozen and stays in eval mode (its BN "
                + "statistics never change; checked bit for bit at the end), a new fc ~ N(0, 0.01) is trained.",
                "Defaults: 100 epochs, batch 256, SGD lr 30 momentum 0.9 wd 0, x0.1 at epochs 60 and 80 (scaled with --epochs), "
                        + "RandomResizedCrop + flip, evaluation resize + centre crop.", ""})
public final class LinearEvalCommand extends ClassifierCommand {
    @Override
    ClassifierConfig base() { return ClassifierConfig.linearEval(); }

    @Override
    String name() { return "linear-eval"; }
}
