package dvp.nn;

import dvp.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * torch.nn.Sequential: children named "0", "1", ... applied in order, so state-dict keys are
 * {@code 0.weight}, {@code 2.bias}, ... (e.g. MoCo's MLP head {@code fc.0.*}/{@code fc.2.*}, a
 * ResNet shortcut {@code downsample.0.*}/{@code downsample.1.*}).
 */
public class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential(List<? extends Module> modules) {
        for (Module m : modules) add(m);
    }

    /** Appends a module under the next index. */
    public Sequential add(Module m) {
        registerModule(Integer.toString(layers.size()), m);
        layers.add(m);
        return this;
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = x;
        for (Module m : layers) y = m.forward(y);
        return y;
    }

    public Module get(int i) { return layers.get(i); }

    public int size() { return layers.size(); }

    public List<Module> modules() { return List.copyOf(layers); }

    @Override
    protected void onChildReplaced(String name, Module module) {
        layers.set(Integer.parseInt(name), module);
    }

    @Override
    protected String extraRepr() { return "Sequential"; }
}
