package dvp.engine.ops;

import dvp.engine.DType;
import dvp.engine.Shape;
import dvp.engine.Tensor;
import dvp.engine.autograd.Autograd;
import dvp.engine.spi.Backend;

/** Classification loss: softmax cross-entropy with label smoothing (torch.nn.CrossEntropyLoss semantics). */
public final class Losses {
    private Losses() {}

    public static Tensor crossEntropy(Tensor logits, Tensor labels) { return crossEntropy(logits, labels, 0f); }

    /**
     * Batch mean of -sum_k t_k log softmax(z)_k with t = (1-smoothing)*onehot + smoothing/K: the
     * smoothing mass goes to every class, the true one included (PyTorch's label_smoothing).
     */
    public static Tensor crossEntropy(Tensor logitsIn, Tensor labels, float smoothing) {
        Tensor logits = Autocast.fp32(logitsIn); // fp32 list (Autocast)
        Check.rank("cross_entropy", "logits", logits, 2);
        Check.dtype("cross_entropy", "labels", labels, DType.I64);
        if (labels.rank() != 1 || labels.dim(0) != logits.dim(0))
            throw new IllegalArgumentException("cross_entropy: labels " + Shape.str(labels.shape()) + " do not match logits "
                    + Shape.str(logits.shape()) + " (expected [" + logits.dim(0) + "])");
        Check.that(smoothing >= 0f && smoothing <= 1f, "cross_entropy: label smoothing must be in [0, 1], got " + smoothing);
        Check.sameBackend("cross_entropy", logits, labels);
        Backend be = logits.backend();
        Tensor cz = Check.contiguous(logits), cl = Check.contiguous(labels);
        Tensor loss = Tensor.empty(be, DType.F32);
        Tensor probs = Tensor.empty(be, DType.F32, logits.shape());
        be.softmaxCrossEntropyForward(cz, cl, smoothing, loss, probs);
        return Autograd.record("cross_entropy", loss, g -> {
            Tensor dz = Tensor.empty(be, DType.F32, logits.shape());
            be.softmaxCrossEntropyBackward(probs, cl, smoothing, g, dz);
            return new Tensor[]{dz, null};
        }, logits, labels);
    }
}
