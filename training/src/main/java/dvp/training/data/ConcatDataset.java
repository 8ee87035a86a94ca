package dvp.training.data;

import java.io.IOException;
import java.util.List;

/** Datasets one after the other; all must have the same class list, so labels mean the same. */
public final class ConcatDataset implements ImageDataset {
    private final List<ImageDataset> parts;
    private final int[] starts;

    public ConcatDataset(List<ImageDataset> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat: no datasets");
        for (ImageDataset p : parts)
            if (!p.classes().equals(parts.getFirst().classes()))
                throw new IllegalArgumentException("concat: class lists differ (" + p.classes().size() + " vs " + parts.getFirst().classes().size()
                        + " classes; first difference at " + ImageDataset.firstClassDifference(p.classes(), parts.getFirst().classes()) + ")");
        this.parts = List.copyOf(parts);
        starts = new int[parts.size() + 1];
        for (int i = 0; i < parts.size(); i++) starts[i + 1] = starts[i] + parts.get(i).size();
    }

    private int part(int index) {
        checkIndex(index);
        int p = 0;
        while (starts[p + 1] <= index) p++;
        return p;
    }

    @Override public int size() { return starts[parts.size()]; }

    @Override public List<String> classes() { return parts.getFirst().classes(); }

    @Override
    public int label(int index) {
        int p = part(index);
        return parts.get(p).label(index - starts[p]);
    }

    @Override
    public String describe(int index) {
        int p = part(index);
        return parts.get(p).describe(index - starts[p]);
    }

    @Override
    public SampleSource read(int index) throws IOException {
        int p = part(index);
        return parts.get(p).read(index - starts[p]);
    }
}
