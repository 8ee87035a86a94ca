package dvp.nn;

import dvp.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * torch.nn.ModuleList: an indexed container ("0", "1", ...) whose modules are used by the owner's
 * own forward (e.g. one distillation connector per stage). Like PyTorch's, it has no forward.
 */
public class ModuleList extends Module {
    private final List<Module> items = new ArrayList<>();

    public ModuleList(List<? extends Module> modules) {
        for (Module m : modules) add(m);
    }

    public ModuleList add(Module m) {
        registerModule(Integer.toString(items.size()), m);
        items.add(m);
        return this;
    }

    public Module get(int i) { return items.get(i); }

    public int size() { return items.size(); }

    /** A ModuleList is a container; call its members. */
    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException("ModuleList has no forward; call its modules (get(i).forward(x))");
    }

    @Override
    protected void onChildReplaced(String name, Module module) {
        items.set(Integer.parseInt(name), module);
    }

    @Override
    protected String extraRepr() { return "ModuleList"; }
}
