package dvp.training.observe;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether standard error is an interactive terminal (where a redrawn progress bar makes sense), and how wide it is. */
public final class Terminal {
    /** Linux's TIOCGWINSZ (asm-generic/ioctls.h; the same on x86-64 and arm64). */
    private static final long TIOCGWINSZ = 0x5413;
    private static final int DEFAULT_COLUMNS = 100;

    private Terminal() {}

    public static boolean stderrIsTerminal() {
        // Linux: what file descriptor 2 points at. A terminal is /dev/pts/N or /dev/ttyX; a file, pipe or
        // /dev/null is not. (System.console() looks at stdin/stdout, not at the stream we draw on.)
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            var c = System.console();
            return c != null && c.isTerminal();
        }
    }

    /**
     * Columns of the terminal on standard error: $COLUMNS when set, else the kernel's window size
     * (ioctl TIOCGWINSZ), else 100. Asked directly rather than through a terminal library: JLine,
     * which the progress bar library would otherwise open, installs its own SIGINT handler (the
     * default action, ending the JVM) over dvp's, so Ctrl-C at a bar killed runs without a checkpoint.
     */
    public static int stderrColumns() {
        String env = System.getenv("COLUMNS");
        if (env != null) {
            try {
                int c = Integer.parseInt(env.trim());
                if (c >= 20) return c;
            } catch (NumberFormatException ignored) {
                // fall through to the kernel's answer
            }
        }
        try (Arena a = Arena.ofConfined()) {
            Linker linker = Linker.nativeLinker();
            MethodHandle ioctl = linker.downcallHandle(linker.defaultLookup().find("ioctl").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
                    Linker.Option.firstVariadicArg(2));
            MemorySegment ws = a.allocate(8, 2); // struct winsize { unsigned short ws_row, ws_col, ws_xpixel, ws_ypixel; }
            int rc = (int) ioctl.invokeExact(2, TIOCGWINSZ, ws);
            int cols = Short.toUnsignedInt(ws.get(ValueLayout.JAVA_SHORT, 2));
            return rc == 0 && cols >= 20 ? cols : DEFAULT_COLUMNS;
        } catch (Throwable t) {
            return DEFAULT_COLUMNS;
        }
    }
}
