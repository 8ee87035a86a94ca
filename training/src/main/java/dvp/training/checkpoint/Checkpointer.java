package dvp.training.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dvp.engine.DType;
import dvp.engine.Tensor;
import dvp.training.run.AtomicFiles;
import dvp.training.run.BadInputException;
import dvp.training.run.Json;
import dvp.training.run.NonFiniteLossException;
import dvp.training.run.Versions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Saves and restores the full state of a training run. Trainers register every {@link Stateful}
 * part once ({@link #track}), then call {@link #save} (every epoch, and when interrupted) and
 * {@link #restore} (for {@code --resume}).
 *
 * <p>Layout under the checkpoints folder: {@code step-NNNNNNNNN/} folders, each holding
 * {@code checkpoint.json} ({@link CheckpointManifest}) and the tensor file, plus the symbolic
 * links {@code last} and {@code best}. Only the folders those links point at are kept.
 *
 * <p>Never a torn checkpoint: a checkpoint is written into a hidden temporary folder, every file
 * is forced to disk, and only then is the folder renamed to its final name and the {@code last}
 * link swapped (both atomic renames). A crash or SIGKILL at any moment leaves the previous
 * checkpoint intact and {@code last} pointing at a complete one; leftover temporary folders are
 * removed by the next checkpointer. Old checkpoints go the same way backwards: renamed to a hidden
 * temporary name first, deleted after, so no visible {@code step-*} folder is ever half deleted.
 * Non-finite weights are never saved (see {@link #save}).
 */
public final class Checkpointer {
    private static final String TMP_PREFIX = ".tmp-step-";
    private final Path dir;
    private final TensorFile format;
    private final Versions versions;
    private final SequencedMap<String, Stateful> parts = new LinkedHashMap<>();
    private JsonNode config;
    private List<String> classNames;
    private String bestMetric;
    private boolean higherIsBetter;
    private CheckpointManifest.Best best;
    private Path last;
    private IoAction beforeSave = () -> {};
    private FileDeleter deleter = Files::deleteIfExists;

    /** Deletes one file or empty folder (a seam for the test that interrupts a deletion half-way). */
    @FunctionalInterface
    interface FileDeleter {
        void delete(Path p) throws IOException;
    }

    /** Work that may throw IOException. */
    @FunctionalInterface
    public interface IoAction {
        void run() throws IOException;
    }

    /** The folder is created by the first {@link #save}, not here: a run that fails before training leaves none. */
    public Checkpointer(Path dir, TensorFile format, Versions versions) throws IOException {
        this.dir = dir;
        this.format = format;
        this.versions = versions;
        if (Files.isDirectory(dir)) removeLeftovers();
    }

    /** Registers a part of the state under a unique name (its tensors are stored as {@code <name>.<key>}). */
    public Checkpointer track(String name, Stateful part) {
        if (!name.matches("[A-Za-z0-9_]+")) throw new IllegalArgumentException("checkpoint part name '" + name + "' must match [A-Za-z0-9_]+");
        if (parts.putIfAbsent(name, part) != null) throw new IllegalArgumentException("checkpoint part '" + name + "' tracked twice");
        return this;
    }

    /** The run's resolved configuration, stored in every checkpoint (for evaluate/export). */
    public Checkpointer config(Object config) {
        this.config = Json.tree(config);
        return this;
    }

    public Checkpointer classNames(List<String> names) {
        this.classNames = List.copyOf(names);
        return this;
    }

    /** Which logged metric picks the {@code best} link (e.g. "val_top1", higher is better). */
    public Checkpointer keepBestBy(String metric, boolean higherIsBetter) {
        this.bestMetric = metric;
        this.higherIsBetter = higherIsBetter;
        return this;
    }

    /**
     * Runs before every checkpoint is written: what must be on disk when the checkpoint is (the
     * metrics logged up to its step, which a resumed run does not log again).
     */
    public Checkpointer beforeSave(IoAction action) {
        this.beforeSave = action;
        return this;
    }

    public Path directory() { return dir; }

    /** The newest checkpoint written or restored by this checkpointer. */
    public Optional<Path> last() { return Optional.ofNullable(last); }

    public Optional<CheckpointManifest.Best> best() { return Optional.ofNullable(best); }

    /**
     * Writes a checkpoint of every tracked part at this step and points {@code last} at it (and
     * {@code best}, when metrics hold an improved value of the best-by metric).
     *
     * @throws NonFiniteLossException when a floating tensor holds NaN/Inf: nothing is written and
     *         the last good checkpoint stays as it was
     */
    public Path save(long step, long epoch, Map<String, Double> metrics) throws IOException {
        beforeSave.run();
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        ObjectNode state = Json.MAPPER.createObjectNode();
        for (var p : parts.entrySet())
            p.getValue().save(new StateWriter(p.getKey() + ".", tensors, state.putObject(p.getKey())));
        checkFinite(step, tensors);

        CheckpointManifest.Best newBest = best;
        Double v = bestMetric == null ? null : metrics.get(bestMetric);
        boolean improved = v != null && !v.isNaN()
                && (best == null || (higherIsBetter ? v > best.value() : v < best.value()));
        if (improved) newBest = new CheckpointManifest.Best(bestMetric, higherIsBetter, v, step);

        CheckpointManifest manifest = new CheckpointManifest(CheckpointManifest.FORMAT, CheckpointManifest.VERSION,
                step, epoch, OffsetDateTime.now().toString(), new TreeMap<>(metrics), newBest, versions, config,
                classNames, format.fileName(), tensors.size(), state);

        Files.createDirectories(dir);
        String name = String.format("step-%09d", step);
        Path target = dir.resolve(name);
        for (int i = 2; Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS); i++) target = dir.resolve(name + "-" + i);
        Path tmp = dir.resolve(TMP_PREFIX + String.format("%09d", step) + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Files.createDirectory(tmp);
        try {
            Map<String, String> meta = new TreeMap<>();
            meta.put("format", CheckpointManifest.FORMAT);
            meta.put("step", Long.toString(step));
            meta.put("epoch", Long.toString(epoch));
            Path tf = tmp.resolve(format.fileName());
            format.write(tf, tensors, meta);
            AtomicFiles.fsync(tf);
            byte[] json = (Json.write(manifest) + "\n").getBytes(StandardCharsets.UTF_8);
            AtomicFiles.writeDurably(tmp.resolve(Checkpoint.MANIFEST), out -> out.write(json));
            AtomicFiles.fsyncDirectory(tmp);
            AtomicFiles.move(tmp, target);
            AtomicFiles.fsyncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp, deleter);
            throw e;
        }
        AtomicFiles.pointLink(dir.resolve("last"), target.getFileName());
        if (improved) AtomicFiles.pointLink(dir.resolve("best"), target.getFileName());
        last = target;
        best = newBest;
        prune();
        return target;
    }

    /** What {@link #restore} found. */
    public record Restored(Path checkpoint, long step, long epoch, CheckpointManifest manifest) {}

    /**
     * Loads every tracked part from the checkpoint at (or under) path. Strict: every tracked part
     * must be present and every stored tensor must be loaded by some part, so a checkpoint of a
     * different model or trainer is an error naming the difference, not a silent partial load.
     */
    public Restored restore(Path path) throws IOException {
        Path ckpt = Checkpoint.resolve(path);
        CheckpointManifest m = Checkpoint.manifest(ckpt);
        List<String> missingParts = parts.keySet().stream().filter(n -> m.state() == null || !m.state().has(n)).toList();
        if (!missingParts.isEmpty())
            throw new CheckpointException(ckpt, "has no state for " + missingParts + " (it holds " + partNames(m) + "; written by another command?)");
        Set<String> consumed = new HashSet<>();
        try (TensorFile.Reader r = format.open(ckpt.resolve(m.tensorsFile()))) {
            for (var p : parts.entrySet()) {
                try {
                    p.getValue().load(new StateReader(ckpt, p.getKey() + ".", r, consumed, m.state().get(p.getKey())));
                } catch (CheckpointException e) {
                    throw e;
                } catch (BadInputException | IllegalStateException | IllegalArgumentException e) {
                    // a part that exists but does not fit (another command's optimizer, another batch size): bad input, one line
                    throw new CheckpointException(ckpt, "part '" + p.getKey() + "' does not fit this run: " + e.getMessage(), e);
                }
            }
            List<String> unused = r.names().stream().filter(n -> !consumed.contains(n)).toList();
            if (!unused.isEmpty())
                throw new CheckpointException(ckpt, unused.size() + " stored tensor(s) were not loaded by any part: "
                        + StateReader.abbreviate(unused) + " (a different model or trainer?)");
        }
        last = ckpt.toRealPath();
        if (m.best() != null && m.best().metric().equals(bestMetric)) best = m.best();
        return new Restored(ckpt, m.step(), m.epoch(), m);
    }

    private static List<String> partNames(CheckpointManifest m) {
        List<String> names = new ArrayList<>();
        if (m.state() != null) m.state().fieldNames().forEachRemaining(names::add);
        return names;
    }

    private void checkFinite(long step, Map<String, Tensor> tensors) {
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            if (t.dtype() != DType.F32) continue;
            for (float f : t.toFloatArray())
                if (!Float.isFinite(f))
                    throw new NonFiniteLossException(step, "tensor '" + e.getKey() + "'", f, last());
        }
    }

    Checkpointer deleteWith(FileDeleter d) {
        this.deleter = d;
        return this;
    }

    /** Deletes every step folder that neither last nor best points at (each renamed out of sight first). */
    private void prune() throws IOException {
        Set<Path> keep = new HashSet<>();
        for (String link : new String[] {"last", "best"}) {
            Path l = dir.resolve(link);
            if (Files.exists(l)) keep.add(l.toRealPath());
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                if (p.getFileName().toString().startsWith("step-") && Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                        && !keep.contains(p.toRealPath())) {
                    Path gone = dir.resolve(TMP_PREFIX + "discarded-" + p.getFileName() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
                    AtomicFiles.move(p, gone);
                    AtomicFiles.fsyncDirectory(dir);
                    deleteTree(gone, deleter);
                }
            }
        }
    }

    /** Temporary folders of a save that was killed half-way. */
    private void removeLeftovers() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) if (p.getFileName().toString().startsWith(TMP_PREFIX)) deleteTree(p, deleter);
        }
    }

    private static void deleteTree(Path p, FileDeleter deleter) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) deleter.delete(q);
        }
    }
}
