package dvp.engine;

import dvp.engine.spi.Storage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Deterministic lifetimes for tensor memory. Every storage is owned by exactly one scope: the
 * innermost open scope of the allocating thread, or the never-closing {@link #global()} scope
 * when none is open. Closing a scope frees everything it owns (no finalizers, no GC pressure from
 * device memory). Scopes nest strictly per thread: a step's temporaries live in a scope opened
 * for the step; parameters, optimizer state and the MoCo queue live in longer-lived outer ones.
 *
 * <p>{@link #keep(Tensor)} hands a tensor's storage to the parent scope, for results that must
 * outlive the scope that computed them.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Deque<Scope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);
    private static final Scope GLOBAL = new Scope(null, "global");

    private final Scope parent;
    private final String name;
    private final List<Storage> owned = new ArrayList<>();
    /** Never on a thread's stack ({@link #detached}): closed whenever its owner is done, in any order. */
    private boolean detached;
    private boolean closed;

    private Scope(Scope parent, String name) {
        this.parent = parent;
        this.name = name;
    }

    /** Opens a scope nested in the current one; close it (try-with-resources) on the same thread. */
    public static Scope open() { return open("scope"); }

    public static Scope open(String name) {
        Deque<Scope> stack = STACK.get();
        Scope s = new Scope(stack.isEmpty() ? GLOBAL : stack.peek(), name);
        stack.push(s);
        return s;
    }

    /**
     * A scope that is never on a thread's stack: allocate into it with {@link #allocatingIn} and
     * close it when its owner is done with the memory, independently of the per-thread nesting
     * (e.g. the tensors a captured CUDA graph reads and writes on every replay, which must outlive
     * the step that captured it and die with the graph). {@link #keep} hands to the scope current now.
     */
    public static Scope detached(String name) {
        Scope s = new Scope(current(), name);
        s.detached = true;
        return s;
    }

    /** The innermost open scope of this thread, or {@link #global()}. */
    public static Scope current() {
        Scope s = STACK.get().peek();
        return s == null ? GLOBAL : s;
    }

    /** Owns what is allocated outside any scope; lives as long as the process. */
    public static Scope global() { return GLOBAL; }

    /**
     * Runs {@code body} with {@code target} as the allocation scope, e.g. to create a parameter's
     * gradient in the parameter's own (outer) scope while a step scope is open.
     */
    public static <T> T allocatingIn(Scope target, java.util.function.Supplier<T> body) {
        Deque<Scope> stack = STACK.get();
        stack.push(target);
        try {
            return body.get();
        } finally {
            stack.pop();
        }
    }

    synchronized void register(Storage storage) {
        if (closed) throw new IllegalStateException("scope '" + name + "' is closed; cannot allocate in it");
        owned.add(storage);
    }

    /** Moves ownership of t's storage to the parent scope (or global) and returns t. */
    public synchronized Tensor keep(Tensor t) {
        Storage st = t.storage();
        if (owned.remove(st)) {
            Scope p = parent == null ? GLOBAL : parent;
            p.register(st);
            t.setOwner(p);
        }
        return t;
    }

    public boolean isClosed() { return closed; }

    public String name() { return name; }

    /** Number of storages this scope owns now (for leak tests). */
    public synchronized int ownedCount() { return owned.size(); }

    @Override
    public void close() {
        if (this == GLOBAL) throw new IllegalStateException("the global scope is never closed");
        if (!detached) {
            Deque<Scope> stack = STACK.get();
            if (stack.peek() != this)
                throw new IllegalStateException("scope '" + name + "' closed out of order (innermost open is '"
                        + (stack.isEmpty() ? "none" : stack.peek().name) + "')");
            stack.pop();
        }
        synchronized (this) {
            closed = true;
            for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).free();
            owned.clear();
        }
    }
}
