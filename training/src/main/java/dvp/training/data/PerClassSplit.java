package dvp.training.data;

import dvp.engine.Rng;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A seeded per-class subset of a labelled dataset, e.g. 50 training + 50 validation images per
 * class drawn from Fashion-MNIST's training file — the same data-deficient regime as VIPriors
 * (50 + 50 per class from ImageNet-train). For each class, its samples are shuffled with
 * {@code Rng(seed).fork(class)}; the first {@code perClass[0]} go to split 0, the next
 * {@code perClass[1]} to split 1, and so on, so splits are disjoint, depend only on the seed and
 * the class, and a class with too few samples is an error. Each split lists its samples in
 * ascending base order.
 */
public final class PerClassSplit {
    private PerClassSplit() {}

    public static List<SubsetDataset> split(ImageDataset ds, long seed, int... perClass) {
        if (ds.numClasses() == 0) throw new IllegalArgumentException("per-class split of an unlabeled dataset");
        int k = ds.numClasses();
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < k; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < ds.size(); i++) byClass.get(ds.label(i)).add(i);
        int need = Arrays.stream(perClass).sum();
        List<List<Integer>> out = new ArrayList<>();
        for (int s = 0; s < perClass.length; s++) out.add(new ArrayList<>());
        Rng root = new Rng(seed);
        for (int c = 0; c < k; c++) {
            List<Integer> members = byClass.get(c);
            if (members.size() < need)
                throw new IllegalArgumentException("per-class split: class " + c + " ('" + ds.classes().get(c) + "') has " + members.size()
                        + " samples, " + need + " needed");
            int[] perm = root.fork(c).permutation(members.size());
            int at = 0;
            for (int s = 0; s < perClass.length; s++)
                for (int j = 0; j < perClass[s]; j++) out.get(s).add(members.get(perm[at++]));
        }
        List<SubsetDataset> splits = new ArrayList<>();
        for (List<Integer> l : out) splits.add(new SubsetDataset(ds, l.stream().mapToInt(Integer::intValue).sorted().toArray()));
        return splits;
    }
}
