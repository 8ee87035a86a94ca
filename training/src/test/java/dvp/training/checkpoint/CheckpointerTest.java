package dvp.training.checkpoint;

import dvp.engine.Rng;
import dvp.engine.Scope;
import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import dvp.training.run.NonFiniteLossException;
import dvp.training.run.Versions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointerTest {
    @TempDir
    Path dir;
    Scope scope;
    Tensor w, queue;
    long ptr;
    Rng rng;
    double lr;

    @BeforeEach
    void setUp() {
        scope = Scope.open("test");
        w = Tensor.of(Backends.cpu(), new Rng(1).normal(12, 0, 1), 3, 4);
        queue = Tensor.ofLongs(Backends.cpu(), new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}, 4);
        ptr = 3;
        rng = new Rng(42);
        rng.nextLong();
        lr = 0.1 + 0.2; // not representable as a short decimal
    }

    @AfterEach
    void tearDown() { scope.close(); }

    private Checkpointer checkpointer(TensorFile format) throws IOException {
        return new Checkpointer(dir.resolve("checkpoints"), format, Versions.current(Backends.cpu()))
                .track("model", Stateful.tensors(() -> Map.of("w", w)))
                .track("moco", Stateful.of(o -> o.tensor("queue", queue).put("queue_ptr", ptr),
                        i -> { i.tensorInto("queue", queue); ptr = i.getLong("queue_ptr"); }))
                .track("rng", Stateful.rng(() -> rng, r -> rng = r))
                .track("schedule", Stateful.of(o -> o.put("lr", lr).put("milestones", new int[] {30, 60}).child("inner").put("flag", true),
                        i -> { lr = i.getDouble("lr"); assertArrayEquals(new int[] {30, 60}, i.getInts("milestones"));
                            assertTrue(i.child("inner").getBoolean("flag")); }))
                .config(Map.of("arch", "resnet18"))
                .classNames(List.of("cat", "dog"))
                .keepBestBy("val_top1", true);
    }

    private Checkpointer checkpointer() throws IOException { return checkpointer(SafetensorsTensorFile.INSTANCE); }

    @Test
    void roundTripIsExact() throws IOException {
        float[] w0 = w.toFloatArray();
        long rngState = rng.state();
        Path saved = checkpointer().save(100, 2, Map.of("val_top1", 0.5));
        assertEquals("step-000000100", saved.getFileName().toString());
        // scramble everything, then restore
        w.copyFrom(Tensor.zeros(Backends.cpu(), 3, 4));
        queue.copyFrom(Tensor.ofLongs(Backends.cpu(), new long[4], 4));
        ptr = 0;
        rng = new Rng(0);
        lr = 0;
        Checkpointer c = checkpointer();
        Checkpointer.Restored r = c.restore(dir.resolve("checkpoints"));
        assertEquals(100, r.step());
        assertEquals(2, r.epoch());
        assertArrayEquals(w0, w.toFloatArray());
        assertArrayEquals(new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}, queue.toLongArray());
        assertEquals(3, ptr);
        assertEquals(rngState, rng.state());
        assertEquals(0.1 + 0.2, lr);
        assertEquals(List.of("cat", "dog"), r.manifest().classNames());
        assertEquals("resnet18", r.manifest().config().get("arch").asText());
        assertEquals(Runtime.version().toString(), r.manifest().versions().jdk());
        assertEquals(0.5, c.best().orElseThrow().value());
        assertEquals(saved.toRealPath(), c.last().orElseThrow());
    }

    @Test
    void keepsOnlyLastAndBest() throws IOException {
        Checkpointer c = checkpointer();
        c.save(1, 1, Map.of("val_top1", 0.3));
        c.save(2, 2, Map.of("val_top1", 0.7));   // best
        c.save(3, 3, Map.of("val_top1", 0.6));
        c.save(4, 4, Map.of());                   // no metric: best stays
        Path ck = dir.resolve("checkpoints");
        assertEquals(ck.resolve("step-000000004").toRealPath(), ck.resolve("last").toRealPath());
        assertEquals(ck.resolve("step-000000002").toRealPath(), ck.resolve("best").toRealPath());
        try (var s = Files.list(ck)) {
            assertEquals(List.of("best", "last", "step-000000002", "step-000000004"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // the same step saved again (interrupt right after an epoch checkpoint) gets its own folder
        assertEquals("step-000000004-2", c.save(4, 4, Map.of()).getFileName().toString());
        // best survives a restart: a worse value does not move it
        Checkpointer again = checkpointer();
        again.restore(ck);
        again.save(5, 5, Map.of("val_top1", 0.65));
        assertEquals(ck.resolve("step-000000002").toRealPath(), ck.resolve("best").toRealPath());
    }

    @Test
    void aSaveThatFailsHalfWayLeavesTheLastCheckpointIntact() throws IOException {
        Checkpointer good = checkpointer();
        Path first = good.save(1, 1, Map.of());
        TensorFile failing = new TensorFile() {
            @Override
            public String fileName() { return SafetensorsTensorFile.INSTANCE.fileName(); }

            @Override
            public void write(Path file, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
                Files.write(file, new byte[] {1, 2, 3}); // a partial file, then the "crash"
                throw new IOException("disk full");
            }

            @Override
            public Reader open(Path file) throws IOException { return SafetensorsTensorFile.INSTANCE.open(file); }
        };
        Checkpointer c = checkpointer(failing);
        assertThrows(IOException.class, () -> c.save(2, 2, Map.of()));
        Path ck = dir.resolve("checkpoints");
        assertEquals(first.toRealPath(), ck.resolve("last").toRealPath());
        try (var s = Files.list(ck)) {
            assertEquals(2, s.count(), "only step-1 and last");
        }
        checkpointer().restore(ck); // still loads
    }

    @Test
    void aPruneKilledHalfWayLeavesNoVisibleHalfDeletedCheckpoint() throws IOException {
        // Ctrl-C at a bar once left step-N/checkpoint.json without its tensor file: the JVM died between two deletions
        Checkpointer c = checkpointer();
        Path first = c.save(1, 1, Map.of());
        class Killed extends RuntimeException {}
        int[] deleted = {0};
        c.deleteWith(p -> {
            if (deleted[0]++ == 1) throw new Killed(); // the process "dies" after the first file of the old checkpoint
            Files.deleteIfExists(p);
        });
        assertThrows(Killed.class, () -> c.save(2, 2, Map.of()));
        Path ck = dir.resolve("checkpoints");
        assertFalse(Files.exists(first), "the old checkpoint is out of sight before its files go");
        try (var s = Files.list(ck)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("step-")).toList())
                assertTrue(Files.exists(p.resolve("checkpoint.json")) && Files.exists(p.resolve("tensors.safetensors")), "complete: " + p);
        }
        assertEquals(2, Checkpoint.manifest(Checkpoint.resolve(ck)).step());
        checkpointer();
        try (var s = Files.list(ck)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".tmp")), "the next checkpointer removes what was left");
        }
    }

    @Test
    void leftoverTemporaryFoldersAreRemoved() throws IOException {
        Path ck = Files.createDirectories(dir.resolve("checkpoints"));
        Files.createDirectories(ck.resolve(".tmp-step-000000007-abc").resolve("x"));
        checkpointer();
        assertFalse(Files.exists(ck.resolve(".tmp-step-000000007-abc")));
    }

    @Test
    void nonFiniteWeightsAreNeverSaved() throws IOException {
        Checkpointer c = checkpointer();
        Path first = c.save(1, 1, Map.of());
        float[] bad = w.toFloatArray();
        bad[5] = Float.NaN;
        w.copyFrom(Tensor.of(Backends.cpu(), bad, 3, 4));
        NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> c.save(2, 2, Map.of()));
        assertTrue(e.getMessage().contains("tensor 'model.w' is NaN at step 2"), e.getMessage());
        assertTrue(e.getMessage().contains(first.toRealPath().toString()), e.getMessage());
        assertEquals(first.toRealPath(), dir.resolve("checkpoints/last").toRealPath());
    }

    @Test
    void mismatchesAreClearErrors() throws IOException {
        checkpointer().save(1, 1, Map.of());
        Path ck = dir.resolve("checkpoints");
        // a trainer that tracks a part the checkpoint lacks
        Checkpointer more = checkpointer().track("ema", Stateful.tensors(Map::of));
        var e1 = assertThrows(CheckpointException.class, () -> more.restore(ck));
        assertTrue(e1.getMessage().contains("has no state for [ema]"), e1.getMessage());
        // a trainer that loads fewer tensors than stored
        Checkpointer fewer = new Checkpointer(ck, SafetensorsTensorFile.INSTANCE, Versions.current(Backends.cpu()))
                .track("model", Stateful.tensors(Map::of)).track("moco", Stateful.of(o -> {}, i -> {}))
                .track("rng", Stateful.of(o -> {}, i -> {})).track("schedule", Stateful.of(o -> {}, i -> {}));
        var e2 = assertThrows(CheckpointException.class, () -> fewer.restore(ck));
        assertTrue(e2.getMessage().contains("2 stored tensor(s) were not loaded by any part: [model.w, moco.queue]")
                || e2.getMessage().contains("2 stored tensor(s) were not loaded by any part: [moco.queue, model.w]"), e2.getMessage());
        // a model of another shape
        w = Tensor.zeros(Backends.cpu(), 4, 3);
        var e3 = assertThrows(CheckpointException.class, () -> checkpointer().restore(ck));
        assertTrue(e3.getMessage().contains("tensor 'model.w' has shape [3, 4] but the model expects [4, 3]"), e3.getMessage());
    }

    @Test
    void pathsThatAreNotCheckpointsAreClearErrors() throws IOException {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> Checkpoint.resolve(dir.resolve("missing")));
        var e = assertThrows(CheckpointException.class, () -> Checkpoint.resolve(dir));
        assertTrue(e.getMessage().contains("not a checkpoint"), e.getMessage());
        Path fake = Files.createDirectories(dir.resolve("fake"));
        Files.writeString(fake.resolve("checkpoint.json"), "{ not json");
        var e2 = assertThrows(CheckpointException.class, () -> Checkpoint.manifest(fake));
        assertTrue(e2.getMessage().startsWith("checkpoint " + fake + ": unreadable checkpoint.json"), e2.getMessage());
        Files.writeString(fake.resolve("checkpoint.json"), "{\"format\":\"other\"}");
        var e3 = assertThrows(CheckpointException.class, () -> Checkpoint.manifest(fake));
        assertTrue(e3.getMessage().contains("is not a dvp checkpoint"), e3.getMessage());
        // run folder and checkpoints folder both resolve to last
        Path saved = checkpointer().save(9, 1, Map.of());
        Path runLike = dir;
        assertEquals(saved.toRealPath(), Checkpoint.resolve(runLike).toRealPath());
        assertEquals(saved.toRealPath(), Checkpoint.resolve(saved.resolve("checkpoint.json")).toRealPath());
    }
}
