package dvp.training.data.decode;

import java.io.IOException;

/** An image file that cannot be decoded (empty, truncated, not an image, corrupt data); names the file. */
public final class CorruptImageException extends IOException {
    private final String file;

    public CorruptImageException(String file, String reason) {
        super(file + ": " + reason);
        this.file = file;
    }

    public CorruptImageException(String file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
    }

    public String file() { return file; }
}
