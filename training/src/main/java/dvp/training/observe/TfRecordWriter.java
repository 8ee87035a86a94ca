package dvp.training.observe;

import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard event files. Per record, little-endian:
 * {@code u64 length, u32 masked_crc32c(length bytes), payload, u32 masked_crc32c(payload)}.
 * The mask (from leveldb/TensorFlow's crc32c.h) is {@code rotr15(crc) + 0xa282ead8}, applied so a
 * CRC of data that itself contains CRCs stays well distributed.
 */
public final class TfRecordWriter {
    private static final int MASK_DELTA = 0xa282ead8;
    private final OutputStream out;

    public TfRecordWriter(OutputStream out) { this.out = out; }

    public void write(byte[] payload) throws IOException {
        byte[] len = new byte[8];
        putLongLE(len, 0, payload.length);
        byte[] lenCrc = new byte[4];
        putIntLE(lenCrc, 0, maskedCrc32c(len, 0, 8));
        byte[] dataCrc = new byte[4];
        putIntLE(dataCrc, 0, maskedCrc32c(payload, 0, payload.length));
        out.write(len);
        out.write(lenCrc);
        out.write(payload);
        out.write(dataCrc);
    }

    public void flush() throws IOException { out.flush(); }

    public static int maskedCrc32c(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }

    private static void putLongLE(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) b[off + i] = (byte) (v >>> (8 * i));
    }

    private static void putIntLE(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) b[off + i] = (byte) (v >>> (8 * i));
    }
}
