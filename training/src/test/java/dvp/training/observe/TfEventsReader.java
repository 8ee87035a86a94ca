package dvp.training.observe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A test-side reader of event files written independently of the writer's code: CRC32C computed bit
 * by bit (not java.util.zip), protobuf decoded field by field.
 */
public final class TfEventsReader {
    public record Value(String tag, float simpleValue) {}

    public record Event(double wallTime, long step, String fileVersion, List<Value> values, Long sessionStatus) {}

    public static List<Event> read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Event> out = new ArrayList<>();
        while (b.hasRemaining()) {
            int at = b.position();
            byte[] header = new byte[8];
            b.get(header);
            long len = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong();
            int lenCrc = b.getInt();
            if (masked(crc32c(header)) != lenCrc) throw new IOException("bad length CRC at " + at);
            byte[] payload = new byte[(int) len];
            b.get(payload);
            int dataCrc = b.getInt();
            if (masked(crc32c(payload)) != dataCrc) throw new IOException("bad data CRC at " + at);
            out.add(decode(payload));
        }
        return out;
    }

    static int crc32c(byte[] data) {
        int crc = 0xFFFFFFFF;
        for (byte x : data) {
            crc ^= x & 0xFF;
            for (int k = 0; k < 8; k++) crc = (crc >>> 1) ^ ((crc & 1) != 0 ? 0x82F63B78 : 0);
        }
        return ~crc;
    }

    static int masked(int crc) { return ((crc >>> 15) | (crc << 17)) + 0xa282ead8; }

    private static Event decode(byte[] p) throws IOException {
        double wall = 0;
        long step = 0;
        String version = null;
        Long session = null;
        List<Value> values = new ArrayList<>();
        Cursor c = new Cursor(p);
        while (c.more()) {
            long key = c.varint();
            int field = (int) (key >>> 3), wire = (int) (key & 7);
            if (field == 1 && wire == 1) wall = Double.longBitsToDouble(c.fixed64());
            else if (field == 2 && wire == 0) step = c.varint();
            else if (field == 3 && wire == 2) version = new String(c.bytes(), StandardCharsets.UTF_8);
            else if (field == 5 && wire == 2) {
                Cursor s = new Cursor(c.bytes());
                while (s.more()) {
                    long k = s.varint();
                    if (k != ((1 << 3) | 2)) throw new IOException("unexpected Summary key " + k);
                    Cursor v = new Cursor(s.bytes());
                    String tag = null;
                    float val = Float.NaN;
                    while (v.more()) {
                        long vk = v.varint();
                        if (vk == ((1 << 3) | 2)) tag = new String(v.bytes(), StandardCharsets.UTF_8);
                        else if (vk == ((2 << 3) | 5)) val = Float.intBitsToFloat(v.fixed32());
                        else throw new IOException("unexpected Value key " + vk);
                    }
                    values.add(new Value(tag, val));
                }
            } else if (field == 6 && wire == 2) {
                Cursor s = new Cursor(c.bytes());
                if (s.varint() != ((1 << 3) | 0)) throw new IOException("unexpected SessionLog field");
                session = s.varint();
            } else throw new IOException("unexpected Event field " + field + " wire " + wire);
        }
        return new Event(wall, step, version, values, session);
    }

    private static final class Cursor {
        private final byte[] b;
        private int i;

        Cursor(byte[] b) { this.b = b; }

        boolean more() { return i < b.length; }

        long varint() {
            long r = 0;
            for (int shift = 0; ; shift += 7) {
                byte x = b[i++];
                r |= (long) (x & 0x7F) << shift;
                if ((x & 0x80) == 0) return r;
            }
        }

        long fixed64() {
            long r = 0;
            for (int k = 0; k < 8; k++) r |= (long) (b[i++] & 0xFF) << (8 * k);
            return r;
        }

        int fixed32() {
            int r = 0;
            for (int k = 0; k < 4; k++) r |= (b[i++] & 0xFF) << (8 * k);
            return r;
        }

        byte[] bytes() {
            int n = (int) varint();
            byte[] r = Arrays.copyOfRange(b, i, i + n);
            i += n;
            return r;
        }
    }
}
