package dvp.training.data.loader;

import dvp.training.run.BadInputException;

/** An image to be evaluated or predicted could not be read or decoded (exit code 2); names the file. */
public final class UnreadableImageException extends BadInputException {
    private final String file;

    /** @param problem the decoder's "FILE: reason" */
    public UnreadableImageException(String file, String problem, Throwable cause) {
        super("unreadable image " + problem, cause);
        this.file = file;
    }

    public String file() { return file; }
}
