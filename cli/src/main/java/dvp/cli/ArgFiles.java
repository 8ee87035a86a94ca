package dvp.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * picocli expands {@code @file} arguments (options one per line or space-separated, {@code #}
 * comments, quotes). A missing file would silently become a literal argument; this check turns it
 * into a clear error first. {@code @@x} is picocli's escape for a literal {@code @x}.
 */
final class ArgFiles {
    private ArgFiles() {}

    /** The first {@code @file} argument (before {@code --}) whose file cannot be read, if any. */
    static Optional<String> firstMissing(String[] args) {
        for (String a : args) {
            if (a.equals("--")) break;
            if (a.length() > 1 && a.startsWith("@") && !a.startsWith("@@")) {
                try {
                    Path p = Path.of(a.substring(1));
                    if (!Files.isRegularFile(p) || !Files.isReadable(p)) return Optional.of(a.substring(1));
                } catch (java.nio.file.InvalidPathException e) {
                    return Optional.of(a.substring(1));
                }
            }
        }
        return Optional.empty();
    }
}
