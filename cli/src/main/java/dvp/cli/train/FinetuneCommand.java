package dvp.cli.train;

import dvp.training.supervised.ClassifierConfig;
import picocli.CommandLine.Command;

/** {@code dvp finetune}: full fine-tuning, or the supervised baseline without --pretrained (ALGORITHMS §6.2, §6.3). */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Full fine-tuning of every layer from the --pretrained backbone (Table 1 'Phase-1 + finetune'), or, without "
                + "--pretrained, supervised training from random init of --arch (the baseline).",
                "Defaults: 100 epochs, batch 256, SGD lr 0.1 Nesterov momentum 0.9 wd 1e-4, x0.1 when the 1-based epoch reaches 30, 60, 90 "
                        + "(scaled with --epochs).", ""})
public final class FinetuneCommand extends ClassifierCommand {
    @Override
    ClassifierConfig base() { return ClassifierConfig.finetune(); }

    @Override
    String name() { return "finetune"; }
}
