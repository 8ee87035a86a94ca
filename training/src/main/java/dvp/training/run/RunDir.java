package dvp.training.run;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The folder of one training run. Layout (every writer takes its path from here):
 * <pre>
 *   config.json        the exact resolved options of the command (written atomically)
 *   versions.json      tool version, git commit, JDK, OS, backend ({@link Versions})
 *   metrics/           &lt;group&gt;.csv per metric group and metrics.jsonl
 *   tensorboard/       events.out.tfevents.&lt;secs&gt;.&lt;host&gt;
 *   plots/             &lt;metric&gt;.png curves drawn at the end of the run
 *   checkpoints/       step-NNNNNNNNN/ folders with "last" and "best" links
 * </pre>
 */
public final class RunDir {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
    private final Path path;

    private RunDir(Path path) { this.path = path; }

    /**
     * A new, empty run folder {@code root/<prefix>-<yyyyMMdd-HHmmss>} (with -2, -3 ... appended when
     * that name is taken, e.g. two runs started in the same second).
     */
    public static RunDir createNew(Path root, String prefix) throws IOException {
        if (Files.exists(root) && !Files.isDirectory(root))
            throw new BadInputException("--runs-dir " + root + " is a file, not a folder; name the folder new run folders go into");
        Files.createDirectories(root);
        String base = prefix + "-" + LocalDateTime.now().format(STAMP);
        for (int i = 1; ; i++) {
            Path p = root.resolve(i == 1 ? base : base + "-" + i);
            try {
                Files.createDirectory(p);
                return new RunDir(p);
            } catch (FileAlreadyExistsException e) {
                if (i > 1000) throw e;
            }
        }
    }

    /** Exactly this folder (created if missing): for {@code --run-dir}. */
    public static RunDir at(Path dir) throws IOException {
        Files.createDirectories(dir);
        return new RunDir(dir);
    }

    /** An existing run folder, to resume into. */
    public static RunDir existing(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "run folder not found");
        return new RunDir(dir);
    }

    public Path path() { return path; }

    public Path configFile() { return path.resolve("config.json"); }

    public Path versionsFile() { return path.resolve("versions.json"); }

    public Path metricsDir() { return path.resolve("metrics"); }

    public Path tensorboardDir() { return path.resolve("tensorboard"); }

    public Path plotsDir() { return path.resolve("plots"); }

    public Path checkpointsDir() { return path.resolve("checkpoints"); }

    /** Writes the resolved configuration (any Jackson-serialisable value: a record, a map). */
    public void writeConfig(Object config) throws IOException { Json.writeFile(configFile(), config); }

    public void writeVersions(Versions versions) throws IOException { Json.writeFile(versionsFile(), versions); }

    @Override
    public String toString() { return path.toString(); }
}
