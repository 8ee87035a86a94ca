package dvp.engine.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The writer reproduces the reference implementation's bytes (vectors from safetensors' own tests). */
class SafetensorsWriterTest {
    @TempDir Path dir;

    private static final float[] SIX = {0, 1, 2, 3, 4, 5};

    @Test void matchesReferenceSerialization() throws IOException {
        Path p = dir.resolve("a.safetensors");
        new SafetensorsWriter().putFloats("attn.0", SIX, 1, 2, 3).write(p);
        String json = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}"; // 64 bytes, no padding
        assertArrayEquals(expected(json, SIX), Files.readAllBytes(p));
    }

    @Test void padsHeaderWithSpacesToAMultipleOf8() throws IOException {
        Path p = dir.resolve("a.safetensors");
        new SafetensorsWriter().putFloats("attn0", SIX, 1, 1, 2, 3).write(p);
        String json = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}" + " ".repeat(7);
        assertArrayEquals(expected(json, SIX), Files.readAllBytes(p));
    }

    @Test void emptyFileAndMetadataOnly() throws IOException {
        Path p = dir.resolve("e.safetensors");
        new SafetensorsWriter().write(p);
        assertArrayEquals(expected("{}" + " ".repeat(6), new float[0]), Files.readAllBytes(p));
        new SafetensorsWriter().metadata("framework", "pt").write(p);
        assertArrayEquals(expected("{\"__metadata__\":{\"framework\":\"pt\"}}" + " ".repeat(5), new float[0]), Files.readAllBytes(p));
    }

    @Test void ordersByDescendingDtypeThenNameSoEveryTensorIsAligned() throws IOException {
        Path p = dir.resolve("o.safetensors");
        new SafetensorsWriter()
                .putBytes("u8", new byte[]{1, 2, 3}, 3)
                .putFloats("b_f32", new float[]{1}, 1)
                .putFloats("a_f32", new float[]{1, 2, 3}, 3)
                .putFloats("h", new float[]{1}, SafetensorsDType.F16, 1)
                .putLongs("n", new long[]{7}, new int[0])
                .putDoubles("d", new double[]{0.5}, 1)
                .putBooleans("flag", new boolean[]{true}, 1)
                .putInts("i", new int[]{-1, 2}, 2)
                .write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("n", "d", "a_f32", "b_f32", "i", "h", "u8", "flag"), f.names(),
                    "reference order: I64, F64 (8 bytes), F32 by name, I32, F16, U8, BOOL");
            long dataStart = Files.size(p) - f.entries().getLast().end();
            assertEquals(0, dataStart % 8, "data section starts 8-aligned");
            for (SafetensorsEntry e : f.entries())
                assertEquals(0, (dataStart + e.begin()) % e.dtype().byteSize(), e + " is aligned in the file");
        }
    }

    @Test void writesAtomicallyReplacingTheOldFileAndLeavingNoTemporaries() throws IOException {
        Path p = dir.resolve("ckpt.safetensors");
        new SafetensorsWriter().putFloats("w", new float[]{1, 2}, 2).write(p);
        new SafetensorsWriter().putFloats("w", new float[]{3, 4, 5}, 3).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[]{3, 4, 5}, f.floats("w"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList(), "only the target remains");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        assertTrue(perms.contains(PosixFilePermission.OWNER_READ) && perms.contains(PosixFilePermission.OWNER_WRITE));
    }

    @Test void failedWriteLeavesNothingBehind() {
        Path p = dir.resolve("missing-dir").resolve("x.safetensors");
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> new SafetensorsWriter().putFloats("w", new float[]{1}, 1).write(p));
        assertTrue(e.getMessage().contains("missing-dir") && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test void rejectsBadPuts() {
        SafetensorsWriter w = new SafetensorsWriter().putFloats("w", new float[]{1}, 1);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putFloats("w", new float[]{1}, 1)), "duplicate tensor name \"w\"");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putFloats("__metadata__", new float[]{1}, 1)), "reserved");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putFloats("x", new float[]{1, 2}, 3)), "2 values for shape [3]");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putFloats("x", new float[]{1}, SafetensorsDType.I32, 1)),
                "cannot store floats as I32");
    }

    private static void assertMessage(Exception e, String part) {
        assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' lacks '" + part + "'");
    }

    private static byte[] expected(String header, float[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (float f : data) b.putFloat(f);
        return b.array();
    }
}
