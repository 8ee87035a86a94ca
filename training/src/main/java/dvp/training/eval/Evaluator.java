package dvp.training.eval;

import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.autograd.GradMode;
import dvp.engine.spi.Backend;
import dvp.nn.Module;
import dvp.training.data.ImageDataset;
import dvp.training.data.loader.Batch;
import dvp.training.data.loader.DataLoader;
import dvp.training.data.loader.UnreadableImages;
import dvp.training.data.transforms.Normalize;
import dvp.training.loop.Loaders;
import dvp.training.run.NonFiniteOutputException;

import java.util.ArrayList;
import java.util.List;

/**
 * Classifies a dataset with one model or an ensemble: every model in eval mode under no-grad, for
 * every view (centre crop, or the ten crops of TenCrop), softmax probabilities averaged over views
 * and models (ALGORITHMS §8: "average softmax over the 10 views", ensembles by softmax averaging),
 * then top-1/top-5 against the labels. Logits are read to the host once per batch and view (an
 * explicit sync; softmax and top-k run on the host in double). A NaN/Inf logit is a
 * {@link NonFiniteOutputException} naming the model and the image, never a score.
 *
 * <p>Models keep their training/eval mode: it is restored afterwards.
 */
public final class Evaluator implements AutoCloseable {
    private final DataLoader loader;
    private final ImageDataset data;
    private final int views;

    /** An evaluator over data with its own loader (closed by {@link #close}); reuse it across epochs. */
    public Evaluator(ImageDataset data, Normalize normalize, EvalOptions options, Backend backend) {
        this.views = options.tenCrop() ? 10 : 1;
        this.data = data;
        this.loader = Loaders.eval(data, options.views(), normalize, options.imagesPerBatch(), options.workers(),
                options.skipUnreadable() ? UnreadableImages.SKIP : UnreadableImages.FAIL, backend);
    }

    /** One pass with a single model. */
    public EvalResult run(Module model) { return run(List.of(model)); }

    /** One pass over the data; the models' outputs (softmax) are averaged. */
    public EvalResult run(List<? extends Module> models) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < models.size(); i++) names.add(models.size() == 1 ? "the model" : "model " + (i + 1) + " of the ensemble");
        return run(models, names);
    }

    /** As {@link #run(List)}; {@code names} say which model is which in errors (their files). */
    public EvalResult run(List<? extends Module> models, List<String> names) {
        if (models.isEmpty()) throw new IllegalArgumentException("evaluate: no model");
        if (names.size() != models.size()) throw new IllegalArgumentException("evaluate: " + names.size() + " names for " + models.size() + " models");
        List<Boolean> modes = new ArrayList<>();
        for (Module m : models) {
            modes.add(m.isTraining());
            m.eval();
        }
        int n = 0, scored = 0, hit1 = 0, hit5 = 0;
        boolean labelled = true;
        List<String> unreadable = new ArrayList<>();
        List<int[]> preds = new ArrayList<>();
        try (DataLoader.Epoch it = loader.epoch(0)) {
            while (it.hasNext()) {
                Batch b = it.next();
                double[][] probs = null;
                int classes = -1;
                try (Scope s = Scope.open("eval"); var g = GradMode.noGrad()) {
                    for (int mi = 0; mi < models.size(); mi++) {
                        Module m = models.get(mi);
                        for (int v = 0; v < views; v++) {
                            Tensor logits = m.forward(b.views().get(v));
                            if (classes < 0) {
                                classes = logits.dim(1);
                                probs = new double[b.size()][classes];
                            } else if (logits.dim(1) != classes) {
                                throw new IllegalArgumentException("evaluate: the models of the ensemble have different numbers of classes ("
                                        + classes + " and " + logits.dim(1) + ")");
                            }
                            float[] z = logits.toFloatArray();
                            requireFinite(z, classes, names.get(mi), b);
                            addSoftmax(z, b.size(), classes, probs);
                        }
                    }
                }
                long[] labels = b.labels().toLongArray();
                int[] p = new int[b.size()];
                for (int i = 0; i < b.size(); i++) {
                    if (b.unreadable()[i]) {
                        p[i] = -1;
                        unreadable.add(data.describe(b.indices()[i]));
                        continue;
                    }
                    scored++;
                    p[i] = argmax(probs[i]);
                    if (labels[i] < 0) {
                        labelled = false;
                        continue;
                    }
                    int rank = rank(probs[i], (int) labels[i]);
                    if (rank == 0) hit1++;
                    if (rank < Math.min(5, classes)) hit5++;
                }
                preds.add(p);
                n += b.size();
            }
        } finally {
            for (int i = 0; i < models.size(); i++) models.get(i).train(modes.get(i));
        }
        int[] all = new int[n];
        int at = 0;
        for (int[] p : preds) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        if (scored == 0) throw new dvp.training.run.BadInputException("no image could be read (" + unreadable.size() + " unreadable, e.g. "
                + unreadable.getFirst() + ")");
        return labelled ? new EvalResult(scored, all, (double) hit1 / scored, (double) hit5 / scored, true, unreadable)
                : new EvalResult(scored, all, Double.NaN, Double.NaN, false, unreadable);
    }

    private void requireFinite(float[] logits, int classes, String model, Batch b) {
        for (int j = 0; j < logits.length; j++)
            if (!Float.isFinite(logits[j]))
                throw new NonFiniteOutputException(model + " gives " + logits[j] + " logits (image " + data.describe(b.indices()[j / classes])
                        + ", class " + (j % classes) + "); its weights or inputs are not finite, so it cannot be scored");
    }

    /** probs[i] += softmax(logits[i]) for each row. */
    static void addSoftmax(float[] logits, int rows, int classes, double[][] probs) {
        for (int i = 0; i < rows; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]);
            double sum = 0;
            double[] e = new double[classes];
            for (int c = 0; c < classes; c++) sum += e[c] = Math.exp(logits[i * classes + c] - max);
            for (int c = 0; c < classes; c++) probs[i][c] += e[c] / sum;
        }
    }

    static int argmax(double[] p) {
        int best = 0;
        for (int c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
        return best;
    }

    /** Classes strictly more probable than the label, plus equally probable ones of lower index (torch.topk's order). */
    static int rank(double[] p, int label) {
        int r = 0;
        for (int c = 0; c < p.length; c++) if (p[c] > p[label] || (p[c] == p[label] && c < label)) r++;
        return r;
    }

    @Override
    public void close() { loader.close(); }
}
