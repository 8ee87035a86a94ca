package dvp.training.eval;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.spi.Backend;
import dvp.engine.spi.Backends;
import dvp.nn.models.ResNet;
import dvp.training.model.InputSpec;
import dvp.training.model.ModelExports;
import dvp.training.model.ModelSpec;
import dvp.training.run.BadInputException;
import dvp.training.run.NonFiniteOutputException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Trained classifiers for evaluation and prediction: each from an exported model file or a
 * checkpoint (the network and its class names come with it), an ensemble from several. All
 * members must predict the same classes in the same order.
 */
public final class Classifiers {
    private Classifiers() {}

    /** The loaded members, their common classes and the input recorded with the first member (may be null). */
    public record Ensemble(List<ResNet> models, List<ModelSpec> specs, List<String> classes, InputSpec input, List<String> origins) {
        /** Whether the models record their class names (else {@link #classes} is "0", "1", ...). */
        public boolean hasClassNames() { return !classes.equals(numbered(classes.size())); }

        /** The same models under these class names (for models that record none). */
        public Ensemble withClasses(List<String> names) {
            if (names.size() != classes.size())
                throw new BadInputException("the model predicts " + classes.size() + " classes but " + names.size() + " class names were given");
            return new Ensemble(models, specs, List.copyOf(names), input, origins);
        }
    }

    /**
     * Loads every source onto backend, in the scope open now (weights read in a temporary scope).
     * A source without a classifier head, without a network description or whose classes differ
     * from the first one's is a one-line {@link BadInputException}; one with a NaN/Inf weight is a
     * {@link NonFiniteOutputException} (it could only produce meaningless scores).
     */
    public static Ensemble load(List<Path> sources, Backend backend) { return load(sources, backend, null, null); }

    /**
     * As {@link #load(List, Backend)}, for files that may not record their network or classes (a
     * state dict saved from PyTorch has torchvision's keys and nothing else).
     *
     * @param plainSpec    the network of a file that records none (null: such a file is an error); a file that
     *                     records one must record this one
     * @param plainClasses class names for a file that records none (null: "0", "1", ...); a file that records
     *                     names must record these
     */
    public static Ensemble load(List<Path> sources, Backend backend, ModelSpec plainSpec, List<String> plainClasses) {
        if (sources == null || sources.isEmpty()) throw new BadInputException("no model given (pass one or more model files or checkpoints)");
        List<ResNet> models = new ArrayList<>();
        List<ModelSpec> specs = new ArrayList<>();
        List<String> origins = new ArrayList<>();
        List<String> classes = null;
        InputSpec input = null;
        try (var use = Backends.use(backend)) {
            for (Path p : sources) {
                Scope outer = Scope.current();
                try (Scope tmp = Scope.open("load-" + p.getFileName())) {
                    ModelExports.Weights w = ModelExports.read(p, backend);
                    requireFiniteWeights(w);
                    if (!w.hasHead())
                        throw new BadInputException(w.origin() + " holds a backbone without a classifier; evaluate a model trained by finetune, linear-eval or distill");
                    ModelSpec spec = w.spec();
                    if (spec == null) {
                        if (plainSpec == null)
                            throw new BadInputException(w.origin() + " does not record which network it belongs to (a PyTorch state dict?): "
                                    + "give it with --arch (and --in-channels, --small-stem, --width, --blocks as it was built)");
                        spec = plainSpec;
                    } else if (plainSpec != null && !plainSpec.equals(spec)) {
                        throw new BadInputException("--arch etc. describe " + plainSpec.describe() + " but " + w.origin() + " records "
                                + spec.describe());
                    }
                    int k = w.tensors().get("fc.weight").dim(0);
                    if (!w.classes().isEmpty() && plainClasses != null && !plainClasses.equals(w.classes()))
                        throw new BadInputException("--classes names other classes than " + w.origin() + " records ("
                                + dvp.training.data.ImageDataset.firstClassDifference(plainClasses, w.classes()) + ")");
                    List<String> names = !w.classes().isEmpty() ? w.classes() : plainClasses != null ? plainClasses : numbered(k);
                    if (names.size() != k)
                        throw new BadInputException((w.classes().isEmpty() ? "--classes names " : w.origin() + " names ") + names.size()
                                + " classes but " + (w.classes().isEmpty() ? w.origin() + "'s" : "its") + " fc has " + k + " outputs");
                    if (classes == null) classes = names;
                    else if (!classes.equals(names))
                        throw new BadInputException("the ensemble's models predict different classes: " + origins.getFirst() + " vs " + w.origin());
                    if (input == null) input = w.input();
                    ModelSpec built = spec;
                    ResNet net = Scope.allocatingIn(outer, () -> built.build(k, new Rng(0)));
                    ModelExports.loadClassifier(net, w);
                    models.add(net);
                    specs.add(spec);
                    origins.add(w.origin());
                }
            }
        }
        return new Ensemble(models, specs, classes, input, origins);
    }

    private static void requireFiniteWeights(ModelExports.Weights w) {
        for (var e : w.tensors().entrySet()) {
            if (e.getValue().dtype() != dvp.engine.DType.F32) continue;
            float[] v = e.getValue().toFloatArray();
            for (int i = 0; i < v.length; i++)
                if (!Float.isFinite(v[i]))
                    throw new NonFiniteOutputException(w.origin() + ": weight '" + e.getKey() + "' holds " + v[i] + " (element " + i
                            + "); a model with non-finite weights cannot be scored");
        }
    }

    private static List<String> numbered(int k) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < k; i++) l.add(Integer.toString(i));
        return l;
    }
}
