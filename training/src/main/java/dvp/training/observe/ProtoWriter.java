package dvp.training.observe;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few protobuf wire-format encodings TensorBoard's Event/Summary messages need, so no
 * protobuf dependency is required. Field key = (field_number << 3) | wire_type; wire types:
 * 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
 */
final class ProtoWriter {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream(64);

    ProtoWriter varintField(int field, long value) {
        key(field, 0);
        varint(value);
        return this;
    }

    ProtoWriter doubleField(int field, double value) {
        key(field, 1);
        long bits = Double.doubleToRawLongBits(value);
        for (int i = 0; i < 8; i++) buf.write((int) (bits >>> (8 * i)));
        return this;
    }

    ProtoWriter floatField(int field, float value) {
        key(field, 5);
        int bits = Float.floatToRawIntBits(value);
        for (int i = 0; i < 4; i++) buf.write(bits >>> (8 * i));
        return this;
    }

    ProtoWriter bytesField(int field, byte[] value) {
        key(field, 2);
        varint(value.length);
        buf.writeBytes(value);
        return this;
    }

    ProtoWriter stringField(int field, String value) { return bytesField(field, value.getBytes(StandardCharsets.UTF_8)); }

    ProtoWriter messageField(int field, ProtoWriter message) { return bytesField(field, message.toByteArray()); }

    byte[] toByteArray() { return buf.toByteArray(); }

    private void key(int field, int wireType) { varint(((long) field << 3) | wireType); }

    private void varint(long v) {
        while ((v & ~0x7FL) != 0) {
            buf.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        buf.write((int) v);
    }
}
