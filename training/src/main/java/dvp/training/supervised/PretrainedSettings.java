package dvp.training.supervised;

import dvp.training.model.ModelExports;

import java.util.ArrayList;
import java.util.List;

/**
 * The settings a labelled phase takes from its --pretrained weights when the command line does not
 * give them: the network (architecture, input channels, stem, width, blocks) and the image size it
 * was trained at. Without this, weights pre-trained at 28 px were fine-tuned at the recipe's 224 px
 * (fifty times the pixels, silently).
 *
 * @param config    the configuration with what was inherited
 * @param inherited what was taken from the weights, for one line on the console ("resnet18 (...)",
 *                  "image size 28 px"); empty when nothing was
 */
public record PretrainedSettings(ClassifierConfig config, List<String> inherited) {
    /**
     * @param modelGiven     whether the command line described the network (--arch etc.)
     * @param imageSizeGiven whether it gave --image-size
     */
    public static PretrainedSettings inherit(ClassifierConfig cfg, boolean modelGiven, boolean imageSizeGiven) {
        if (cfg.pretrained() == null) return new PretrainedSettings(cfg, List.of());
        ModelExports.Recorded r = ModelExports.recorded(cfg.pretrained());
        List<String> inherited = new ArrayList<>();
        ClassifierConfig c = cfg;
        if (!modelGiven && r.spec() != null) inherited.add(r.spec().describe()); // the trainer builds the recorded network when none is given
        if (!imageSizeGiven && r.input() != null && r.input().imageSize() != cfg.imageSize()) {
            int size = r.input().imageSize();
            c = c.with(b -> b.imageSize = size);
            inherited.add("image size " + size + " px");
        }
        return new PretrainedSettings(c, List.copyOf(inherited));
    }

    /** "from --pretrained X: resnet18 (small stem), image size 28 px (the options --arch ... and --image-size override them)". */
    public String describe() {
        return "from --pretrained " + config.pretrained() + ": " + String.join(", ", inherited)
                + " (--arch, --in-channels, --small-stem, --width, --blocks and --image-size override them)";
    }
}
