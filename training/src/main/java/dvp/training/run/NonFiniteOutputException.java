package dvp.training.run;

/**
 * A model to be scored holds NaN/Inf weights or produced NaN/Inf logits. Its softmax would make
 * every comparison false, which ranks the label first: a broken model would score 100 % and
 * predict class 0 everywhere. So this is an error, never a score; exit code 6, like a NaN loss.
 */
public final class NonFiniteOutputException extends RuntimeException {
    public NonFiniteOutputException(String message) { super(message); }
}
