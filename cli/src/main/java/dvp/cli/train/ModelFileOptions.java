package dvp.cli.train;

import dvp.training.model.ModelSpec;
import dvp.training.run.BadInputException;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What evaluate and predict need to know about model files that do not say it themselves: a state
 * dict saved from PyTorch ({@code safetensors.torch.save_file(model.state_dict(), f)}) has
 * torchvision's keys but neither the network's description nor class names. dvp's own files record
 * both, and then these options must agree with them.
 */
public final class ModelFileOptions {
    @Option(names = "--arch", paramLabel = "NAME",
            description = "For model files that do not record their network (a PyTorch state dict): its torchvision architecture, "
                    + "resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d or resnext101_32x8d; with --in-channels, "
                    + "--small-stem, --width and --blocks as it was built. dvp's files record it.")
    String arch;

    @Option(names = "--in-channels", paramLabel = "N", description = "With --arch: input channels, 3 (RGB) or 1 (grayscale). Default: 3.")
    Integer inChannels;

    @Option(names = "--small-stem", description = "With --arch: the 3x3 stride-1 stem conv without max-pool.")
    Boolean smallStem;

    @Option(names = "--width", paramLabel = "M", description = "With --arch: width multiplier of every layer. Default: 1.")
    Double width;

    @Option(names = "--blocks", paramLabel = "N,N,N,N", split = ",", description = "With --arch: residual blocks per stage.")
    List<Integer> blocks;

    @Option(names = "--classes", paramLabel = "FILE",
            description = "Class names, one per line in output order, for model files that do not record them. Default: the classes "
                    + "of the data (sorted folder names, as torchvision's ImageFolder).")
    Path classes;

    /** The network the options describe, or null when --arch is not given. */
    ModelSpec spec() {
        if (arch == null) {
            if (inChannels != null || smallStem != null || width != null || blocks != null)
                throw new BadInputException("--in-channels, --small-stem, --width and --blocks describe the network of --arch; give --arch too");
            return null;
        }
        return ModelOptions.spec(arch, inChannels, smallStem, width, blocks);
    }

    /** The names of --classes, or null. */
    List<String> classNames() {
        if (classes == null) return null;
        try {
            List<String> names = Files.readAllLines(classes, StandardCharsets.UTF_8).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
            if (names.isEmpty()) throw new BadInputException("--classes " + classes + " holds no class name (one per line)");
            if (names.stream().distinct().count() != names.size()) throw new BadInputException("--classes " + classes + " names a class twice");
            return names;
        } catch (IOException e) {
            throw new BadInputException("--classes " + classes + ": cannot read it (" + e.getMessage() + ")", e);
        }
    }
}
