package dvp.engine.autograd;

/**
 * Per-thread switch for recording: inside {@link #noGrad()} ops record nothing, so frozen
 * networks (the MoCo key encoder, the distillation teacher) keep no graph alive.
 */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[]{true});

    private GradMode() {}

    public static boolean isEnabled() { return ENABLED.get()[0]; }

    /** try (var g = GradMode.noGrad()) { ... } — restores the previous mode on close. */
    public static Guard noGrad() { return set(false); }

    public static Guard enableGrad() { return set(true); }

    private static Guard set(boolean value) {
        boolean[] flag = ENABLED.get();
        boolean prev = flag[0];
        flag[0] = value;
        return () -> flag[0] = prev;
    }

    public interface Guard extends AutoCloseable {
        @Override
        void close();
    }
}
