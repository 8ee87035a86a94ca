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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every malformation is refused before any data is trusted, with one message naming the file and the problem. */
class SafetensorsMalformedTest {
    @TempDir Path dir;

    private static final String W24 = "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";

    @Test void wellFormedBaselineOpens() throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file("{" + W24 + "}", 24))) {
            assertEquals(6, f.floats("w").length);
        }
    }

    @Test void fileShorterThanTheLengthPrefix() throws IOException {
        Path p = dir.resolve("short.safetensors");
        Files.write(p, new byte[]{1, 2, 3});
        assertFails(p, "file is 3 bytes long, too short for the 8-byte header length");
    }

    @Test void headerOverTheLimit() throws IOException {
        assertFails(withLength(100_000_001L, "{}"), "header length 100000001 bytes exceeds the limit of 100000000 bytes");
        assertFails(withLength(-1L, "{}"), "header length 18446744073709551615 bytes exceeds the limit");
    }

    @Test void headerLengthPastTheEndOfTheFile() throws IOException {
        assertFails(withLength(1000, "{}      "), "header length 1000 bytes runs past the end of the file (16 bytes, so at most 8 header bytes)");
    }

    @Test void headerNotStartingWithBrace() throws IOException {
        assertFails(file("[]      ", 0), "header does not start with '{' (it starts with '[')");
        assertFails(file(" {}     ", 0), "header does not start with '{' (it starts with ' ')");
        assertFails(withLength(0, ""), "header does not start with '{' (it starts with nothing: the header is empty)");
    }

    @Test void headerNotUtf8() throws IOException {
        Path p = dir.resolve("utf.safetensors");
        byte[] h = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(8).put(h).array());
        assertFails(p, "header is not valid UTF-8");
    }

    @Test void badJson() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",", 0), "header is not valid JSON: unexpected end of input, expected a string key");
        assertFails(file("{" + W24 + "} trailing", 24), "header is not valid JSON: unexpected 't' after the JSON value");
    }

    @Test void duplicateKeys() throws IOException {
        assertFails(file("{" + W24 + "," + W24 + "}", 24), "header is not valid JSON: duplicate key \"w\"");
    }

    @Test void unknownAndUnsupportedDtypes() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor \"w\": unknown dtype \"F33\"");
        assertFails(file("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor \"w\": unknown dtype \"f32\"");
        assertFails(file("{\"w\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]}}", 1), "tensor \"w\": dtype \"F4\" is not supported by dvp");
        assertFails(file("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor \"w\": dtype must be a string, but it is a number");
    }

    @Test void offsetsOutOfRange() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", 24),
                "tensor \"w\": data_offsets [0, 400] out of range: the data section has 24 bytes");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 24),
                "tensor \"w\": data_offsets [8, 4] end before begin");
    }

    @Test void overlappingTensors() throws IOException {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}";
        String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}";
        assertFails(file("{" + b + "," + a + "}", 24), "tensors \"a\" [0, 16] and \"b\" [8, 24] overlap");
        String same = "\"c\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}";
        assertFails(file("{" + a + "," + same + "}", 16), "tensors \"a\" [0, 16] and \"c\" [0, 16] overlap");
    }

    @Test void gapBetweenTensors() throws IOException {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}";
        assertFails(file("{" + a + "," + b + "}", 24),
                "data bytes [8, 16) before tensor \"b\" belong to no tensor (the data must be contiguous, without gaps)");
        assertFails(file("{" + b + "}", 24), "data bytes [0, 16) before tensor \"b\" belong to no tensor");
    }

    @Test void bytesAfterTheLastTensor() throws IOException {
        assertFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16),
                "data bytes [8, 16) after the last tensor belong to no tensor");
        assertFails(file("{}", 8), "data bytes [0, 8) after the last tensor belong to no tensor");
    }

    @Test void shapeTimesDtypeDiffersFromByteLength() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20),
                "tensor \"w\": shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] cover 20");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 4),
                "tensor \"w\": shape [1099511627776, 1099511627776] of F32 overflows a 64-bit byte count");
    }

    @Test void negativeOrNonIntegerDimensionsAndOffsets() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", 24),
                "tensor \"w\": shape has a negative value -3 (must be a list of non-negative integers)");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0,3],\"data_offsets\":[0,24]}}", 24),
                "tensor \"w\": shape must be a list of non-negative integers, but element 0 is the non-integer 2.0");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0]}}", 24),
                "tensor \"w\": data_offsets must be a list of 2 non-negative integers, but it has 1");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,99999999999999999999]}}", 24),
                "tensor \"w\": data_offsets value 99999999999999999999 is too large");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":\"6\",\"data_offsets\":[0,24]}}", 24),
                "tensor \"w\": shape must be a list of non-negative integers, but it is a string");
    }

    @Test void entryFieldsMissingOrUnexpected() throws IOException {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[6]}}", 24), "tensor \"w\": missing field \"data_offsets\"");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24],\"strides\":[1]}}", 24),
                "tensor \"w\": unexpected field \"strides\" (allowed: dtype, shape, data_offsets)");
        assertFails(file("{\"w\":[1,2]}", 0), "tensor \"w\": entry must be an object with dtype, shape and data_offsets, but it is an array");
    }

    @Test void metadataThatIsNotAStringMap() throws IOException {
        assertFails(file("{\"__metadata__\":{\"epoch\":3}}", 0),
                "__metadata__ must map strings to strings, but the value of \"epoch\" is a number");
        assertFails(file("{\"__metadata__\":{\"a\":{\"nested\":\"x\"}}}", 0),
                "__metadata__ must map strings to strings, but the value of \"a\" is an object");
        assertFails(file("{\"__metadata__\":[\"a\"]}", 0), "__metadata__ must be an object mapping strings to strings, but it is an array");
    }

    @Test void missingFileAndDirectory() {
        Path p = dir.resolve("nope.safetensors");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> SafetensorsFile.open(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("no such safetensors file"), e.getMessage());
        assertFails(dir, "is a directory, not a file");
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private int counter;

    /** A file whose length prefix is the header's true length, followed by dataBytes zero bytes. */
    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return bytes(ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array());
    }

    /** A file with an arbitrary (possibly lying) length prefix. */
    private Path withLength(long n, String rest) throws IOException {
        byte[] h = rest.getBytes(StandardCharsets.UTF_8);
        return bytes(ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(n).put(h).array());
    }

    private Path bytes(byte[] content) throws IOException {
        Path p = dir.resolve("case" + (counter++) + ".safetensors");
        Files.write(p, content);
        return p;
    }

    private static void assertFails(Path p, String problem) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(p).close());
        assertEquals(p, e.file());
        assertTrue(e.getMessage().startsWith("cannot read safetensors file " + p + ": "), e.getMessage());
        assertTrue(e.problem().contains(problem), () -> "problem '" + e.problem() + "' lacks '" + problem + "'");
    }
}
