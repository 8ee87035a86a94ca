package dvp.training.data;

import java.io.IOException;
import java.util.List;

/** The samples of a base dataset at the given indices, in that order (labels and classes kept). */
public final class SubsetDataset implements ImageDataset {
    private final ImageDataset base;
    private final int[] indices;

    public SubsetDataset(ImageDataset base, int[] indices) {
        for (int i : indices) base.checkIndex(i);
        this.base = base;
        this.indices = indices.clone();
    }

    public ImageDataset base() { return base; }

    /** The base index of sample i. */
    public int baseIndex(int i) {
        checkIndex(i);
        return indices[i];
    }

    @Override public int size() { return indices.length; }

    @Override public List<String> classes() { return base.classes(); }

    @Override public int label(int index) { return base.label(baseIndex(index)); }

    @Override public String describe(int index) { return base.describe(baseIndex(index)); }

    @Override public SampleSource read(int index) throws IOException { return base.read(baseIndex(index)); }
}
