package dvp.training.data;

import java.io.IOException;
import java.util.List;

/**
 * A fixed, ordered list of images with integer labels (−1 for unlabeled data). Implementations
 * are immutable and thread-safe: loader workers call {@link #read} concurrently.
 */
public interface ImageDataset {
    int size();

    /** Class names by label index (torchvision's {@code classes}); empty for unlabeled data. */
    List<String> classes();

    /** The label of sample i, or −1 when the dataset has no labels. */
    int label(int index);

    /** A human-readable name for sample i (its file path), used in warnings and errors. */
    String describe(int index);

    /** The sample's bytes or pixels. */
    SampleSource read(int index) throws IOException;

    default int numClasses() { return classes().size(); }

    /** Where two class lists first differ ("index 3: 'cat' vs 'dog'", or the shorter one's length), for error messages. */
    static String firstClassDifference(List<String> a, List<String> b) {
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) if (!a.get(i).equals(b.get(i))) return "index " + i + ": '" + a.get(i) + "' vs '" + b.get(i) + "'";
        return "index " + Math.min(a.size(), b.size());
    }

    default void checkIndex(int index) {
        if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("sample " + index + " of a dataset of " + size());
    }
}
