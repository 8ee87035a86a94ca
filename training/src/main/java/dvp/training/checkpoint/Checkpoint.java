package dvp.training.checkpoint;

import dvp.training.run.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Finding and reading a checkpoint without a trainer (evaluate, export, resume). A checkpoint is a
 * folder {@code step-NNNNNNNNN/} holding {@code checkpoint.json} and the tensor file; a user may
 * name it, the {@code last}/{@code best} link, the checkpoints folder or the run folder.
 */
public final class Checkpoint {
    public static final String MANIFEST = "checkpoint.json";

    private Checkpoint() {}

    /**
     * The checkpoint folder meant by path: itself if it holds checkpoint.json, else its
     * {@code last} link, else {@code checkpoints/last} of a run folder.
     */
    public static Path resolve(Path path) throws IOException {
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString(), null, "no such checkpoint, checkpoints folder or run folder");
        if (Files.isRegularFile(path) && path.getFileName().toString().equals(MANIFEST)) return path.toAbsolutePath().getParent();
        if (Files.isRegularFile(path.resolve(MANIFEST))) return path;
        if (Files.exists(path.resolve("last").resolve(MANIFEST))) return path.resolve("last");
        if (Files.exists(path.resolve("checkpoints").resolve("last").resolve(MANIFEST))) return path.resolve("checkpoints").resolve("last");
        throw new CheckpointException(path, "not a checkpoint (no " + MANIFEST + "), a checkpoints folder or a run folder with checkpoints/last");
    }

    /** Reads and checks checkpoint.json of a checkpoint folder (as resolved by {@link #resolve}). */
    public static CheckpointManifest manifest(Path checkpointDir) throws IOException {
        Path f = checkpointDir.resolve(MANIFEST);
        CheckpointManifest m;
        try {
            var tree = Json.readFile(f);
            String format = tree.path("format").asText(null);
            if (!CheckpointManifest.FORMAT.equals(format))
                throw new CheckpointException(checkpointDir, MANIFEST + " is not a dvp checkpoint (format " + format + ")");
            m = Json.MAPPER.treeToValue(tree, CheckpointManifest.class);
        } catch (IOException e) {
            throw new CheckpointException(checkpointDir, "unreadable " + MANIFEST + ": " + e.getMessage(), e);
        }
        if (m.formatVersion() > CheckpointManifest.VERSION)
            throw new CheckpointException(checkpointDir, "format version " + m.formatVersion() + " is newer than this dvp reads ("
                    + CheckpointManifest.VERSION + "); update dvp");
        if (m.tensorsFile() == null || !Files.isRegularFile(checkpointDir.resolve(m.tensorsFile())))
            throw new CheckpointException(checkpointDir, "tensor file " + m.tensorsFile() + " is missing");
        return m;
    }
}
