package dvp.training.loop;

import dvp.engine.Tensor;
import dvp.nn.optim.Sgd;
import dvp.training.run.BadInputException;

import java.util.Map;

/**
 * SGD hyperparameters of a phase (torch.optim.SGD's): base learning rate, momentum, weight decay
 * (on every optimised parameter, BN and biases included, as all the original scripts do) and
 * Nesterov.
 */
public record OptimSpec(double lr, double momentum, double weightDecay, boolean nesterov) {
    public OptimSpec withLr(double v) { return new OptimSpec(v, momentum, weightDecay, nesterov); }

    public OptimSpec withWeightDecay(double v) { return new OptimSpec(lr, momentum, v, nesterov); }

    public OptimSpec withNesterov(boolean v) { return new OptimSpec(lr, momentum, weightDecay, v); }

    public void validate() {
        if (!(lr > 0) || !Double.isFinite(lr)) throw new BadInputException("--lr must be a positive number, got " + lr);
        if (!(momentum >= 0 && momentum < 1)) throw new BadInputException("--momentum must be in [0, 1), got " + momentum);
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) throw new BadInputException("--weight-decay must be >= 0, got " + weightDecay);
        if (nesterov && momentum == 0) throw new BadInputException("--nesterov needs a non-zero --momentum");
    }

    /** An optimizer over these named parameters (one group). */
    public Sgd build(Map<String, Tensor> params) {
        return Sgd.builder(lr).momentum(momentum).weightDecay(weightDecay).nesterov(nesterov).group(params).build();
    }
}
