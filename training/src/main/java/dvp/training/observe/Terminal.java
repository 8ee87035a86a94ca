package dvp.training.observe;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether standard error is an interactive terminal (where a redrawn progress bar makes sense). */
public final class Terminal {
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
}
