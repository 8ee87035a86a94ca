package dvp.training.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Image files without labels (label −1), e.g. the VIPriors test set; {@link #fileName} names rows of a submission. */
public final class UnlabeledImages implements ImageDataset {
    private final List<Path> files;

    public UnlabeledImages(List<Path> files) { this.files = List.copyOf(files); }

    public Path path(int index) {
        checkIndex(index);
        return files.get(index);
    }

    public String fileName(int index) { return path(index).getFileName().toString(); }

    @Override public int size() { return files.size(); }

    @Override public List<String> classes() { return List.of(); }

    @Override
    public int label(int index) {
        checkIndex(index);
        return -1;
    }

    @Override public String describe(int index) { return path(index).toString(); }

    @Override public SampleSource read(int index) throws IOException { return new SampleSource.Encoded(Files.readAllBytes(path(index))); }
}
