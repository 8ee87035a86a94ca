package dvp.training.run;

import sun.misc.Signal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ctrl-C (SIGINT) and SIGTERM ask a training run to stop at the next step boundary instead of
 * killing the JVM: the trainer sees {@link #requested()}, writes a checkpoint and ends with exit
 * code 5 ({@link RunInterruptedException}). A second signal ends the process at once (exit 130),
 * for a run that does not reach a step boundary. Outside training (evaluation, a pipeline between
 * its stages, any other command) there is no step boundary to stop at and nothing to checkpoint,
 * so the first signal ends the process at once. Installed by the command line, not by library code.
 */
public final class StopSignal {
    private static final AtomicInteger SIGNALS = new AtomicInteger();
    private static volatile boolean installed;
    private static volatile boolean training;

    private StopSignal() {}

    public static synchronized void install() {
        if (installed) return;
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), StopSignal::onSignal);
            } catch (IllegalArgumentException e) {
                // signal not available on this platform (or reserved by the JVM): default handling stays
            }
        }
        installed = true;
    }

    private static void onSignal(Signal s) {
        if (!training) {
            System.err.println("\ndvp: SIG" + s.getName() + " received: stopping now (nothing to checkpoint here)");
            dieBy(s);
        }
        if (SIGNALS.incrementAndGet() == 1) {
            System.err.println("\ndvp: SIG" + s.getName() + " received: stopping after this step and writing a checkpoint "
                    + "(send it again to stop at once, without a checkpoint)");
        } else {
            System.err.println("\ndvp: stopping now, without a checkpoint");
            dieBy(s);
        }
    }

    /**
     * Ends the process by the signal itself, as a C program does after its own handler: the default
     * disposition restored and the signal raised again, so the shell sees "killed by SIGINT" (status
     * 130 = 128 + 2, what Process.exitValue reports too; a calling script sees an interrupted child, not
     * an exit code). Runtime.halt first brings every Java thread to a safepoint; raise with SIG_DFL
     * needs none. halt stays as the fallback where the C library cannot be reached.
     */
    private static void dieBy(Signal s) {
        try {
            Linker c = Linker.nativeLinker();
            MethodHandle signal = c.downcallHandle(c.defaultLookup().find("signal").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            MethodHandle raise = c.downcallHandle(c.defaultLookup().find("raise").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            System.err.flush();
            MemorySegment previous = (MemorySegment) signal.invokeExact(s.getNumber(), MemorySegment.NULL); // SIG_DFL is 0
            int raised = (int) raise.invokeExact(s.getNumber());
        } catch (Throwable t) {
            // no native access here: the JVM's own way out below
        }
        Runtime.getRuntime().halt(128 + s.getNumber());
    }

    /**
     * Whether a training loop is running, which checks {@link #requested()} at every step boundary
     * (set by {@link dvp.training.session.TrainingSession} from its first step to its close).
     */
    public static void training(boolean on) { training = on; }

    /** Whether a stop was requested (checked by trainers once per step). */
    public static boolean requested() { return SIGNALS.get() > 0; }

    /** Requests a stop as a signal would (tests, and an embedding program). */
    public static void request() { SIGNALS.compareAndSet(0, 1); }

    /** Forgets a request (tests, and an embedding program running several trainings). */
    public static void reset() { SIGNALS.set(0); }
}
