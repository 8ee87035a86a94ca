package dvp.training.data;

import java.io.IOException;

/** A dataset that cannot be opened as asked: missing folder, no classes, a class without images, bad files. */
public final class DatasetException extends IOException {
    public DatasetException(String message) { super(message); }

    public DatasetException(String message, Throwable cause) { super(message, cause); }
}
