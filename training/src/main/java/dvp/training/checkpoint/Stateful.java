package dvp.training.checkpoint;

import dvp.engine.Rng;
import dvp.engine.Tensor;
import dvp.nn.Module;

import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A part of a training run whose state must survive a restart: model weights and buffers, the
 * EMA encoder, optimizer buffers, the MoCo queue and its pointer, RNG states, the loop position.
 * A resumed run is bit-identical to an uninterrupted one only if every such part is tracked by the
 * {@link Checkpointer}: {@link #save} must write everything the future depends on and
 * {@link #load} must restore it exactly (tensors byte for byte, longs as longs).
 */
public interface Stateful {
    void save(StateWriter out);

    void load(StateReader in);

    static Stateful of(Consumer<StateWriter> save, Consumer<StateReader> load) {
        return new Stateful() {
            @Override
            public void save(StateWriter out) { save.accept(out); }

            @Override
            public void load(StateReader in) { load.accept(in); }
        };
    }

    /**
     * Live tensors by name (momentum buffers, a queue; a module's state dict goes through
     * {@link #module}), saved as they are and loaded back in place (same names, shapes and dtypes
     * required; extra or missing names are errors). The supplier is asked at save and at load time, so it may build the map lazily.
     */
    static Stateful tensors(Supplier<? extends Map<String, Tensor>> named) {
        return of(out -> out.tensors(named.get()), in -> in.tensorsInto(named.get()));
    }

    /**
     * A module's state dict ({@link #tensors} of {@code module.stateDict()}), after whose load the
     * module re-reads the state it keeps on the host (BN's batch counter).
     */
    static Stateful module(Module module) {
        return of(out -> out.tensors(module.stateDict()), in -> {
            in.tensorsInto(module.stateDict());
            module.stateWrittenInPlace();
        });
    }

    /** An RNG that the owner replaces on load (Rng state is one long). */
    static Stateful rng(Supplier<Rng> get, Consumer<Rng> set) {
        return of(out -> out.put("state", get.get().state()), in -> set.accept(Rng.fromState(in.getLong("state"))));
    }
}
