package dvp.training.loop;

import dvp.engine.DType;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.nn.optim.Sgd;
import dvp.training.checkpoint.StateReader;
import dvp.training.checkpoint.StateWriter;
import dvp.training.checkpoint.Stateful;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An SGD optimizer's checkpoint state: its momentum buffers by parameter name. Buffers exist only
 * for parameters that have taken a step; a restored buffer makes the next step continue
 * {@code momentum·buf + g} exactly as the uninterrupted run would. The learning rate is not state:
 * schedules are pure functions of the epoch.
 */
public final class OptimizerState implements Stateful {
    private final Sgd sgd;

    public OptimizerState(Sgd sgd) { this.sgd = sgd; }

    @Override
    public void save(StateWriter out) {
        out.put("buffers", sgd.momentumBuffers().size());
        out.tensors(sgd.momentumBuffers());
    }

    @Override
    public void load(StateReader in) {
        try (Scope s = Scope.open("optimizer-load")) {
            Map<String, Tensor> buffers = new LinkedHashMap<>();
            for (Sgd.Group g : sgd.groups())
                for (var e : g.params().entrySet())
                    if (in.hasTensor(e.getKey())) {
                        Tensor t = Tensor.empty(e.getValue().backend(), DType.F32, e.getValue().shape());
                        in.tensorInto(e.getKey(), t);
                        buffers.put(e.getKey(), t);
                    }
            int expected = in.getInt("buffers");
            if (buffers.size() != expected)
                throw new IllegalStateException("optimizer state: the checkpoint holds " + expected + " momentum buffers but "
                        + buffers.size() + " match this model's parameters");
            sgd.loadMomentumBuffers(buffers);
        }
    }
}
