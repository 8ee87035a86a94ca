package dvp.training.eval;

import dvp.training.data.UnlabeledImages;
import dvp.training.run.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The VIPriors image-classification submission (ALGORITHMS §7, §10.18): a CSV with the header
 * {@code Image IDs,Predictions} and one row {@code img_<i>.JPEG,<class index>} per test image,
 * the class index being the position in the sorted wnid list. The challenge's scorer silently
 * skips missing rows, so the file is checked after writing: every test image exactly once, no
 * other row, every index a valid class. The one exception is asked for explicitly: an image that
 * could not be read (prediction -1, from {@code --skip-unreadable}) gets no row, and the caller
 * lists it.
 */
public final class Submission {
    public static final String HEADER = "Image IDs,Predictions";
    private static final Pattern WNID = Pattern.compile("n\\d{8}");

    private Submission() {}

    /** Writes (atomically) and checks the CSV; returns the number of rows (images with prediction -1 have none). */
    public static int write(Path csv, UnlabeledImages test, int[] predictions, List<String> classes) throws IOException {
        if (predictions.length != test.size())
            throw new IllegalStateException("submission: " + predictions.length + " predictions for " + test.size() + " test images");
        checkClassOrder(classes);
        StringBuilder sb = new StringBuilder(HEADER).append('\n');
        Set<String> names = new HashSet<>(), unread = new HashSet<>();
        int rows = 0;
        for (int i = 0; i < predictions.length; i++) {
            String name = test.fileName(i);
            if (!names.add(name)) throw new IllegalStateException("submission: test image " + name + " appears twice");
            if (name.contains(",") || name.contains("\n")) throw new IllegalStateException("submission: file name " + name + " cannot go into a CSV");
            if (predictions[i] == -1) {
                unread.add(name);
                continue;
            }
            if (predictions[i] < 0 || predictions[i] >= classes.size())
                throw new IllegalStateException("submission: prediction " + predictions[i] + " for " + name + " is not a class index");
            sb.append(name).append(',').append(predictions[i]).append('\n');
            rows++;
        }
        Path parent = csv.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(csv, out -> out.write(bytes));
        verify(csv, test, classes.size(), unread);
        return rows;
    }

    /** Re-reads a submission and checks it covers every test image exactly once with valid class indices. */
    public static void verify(Path csv, UnlabeledImages test, int numClasses) throws IOException { verify(csv, test, numClasses, Set.of()); }

    /** As {@link #verify(Path, UnlabeledImages, int)}, except that the images named in {@code without} must have no row. */
    public static void verify(Path csv, UnlabeledImages test, int numClasses, Set<String> without) throws IOException {
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().equals(HEADER))
            throw new IllegalStateException(csv + ": the first line must be '" + HEADER + "'");
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < test.size(); i++) if (!without.contains(test.fileName(i))) expected.add(test.fileName(i));
        Set<String> seen = new HashSet<>();
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(",", -1);
            if (f.length != 2) throw new IllegalStateException(csv + ":" + (i + 1) + ": expected 'image,prediction'");
            if (!expected.contains(f[0])) throw new IllegalStateException(csv + ":" + (i + 1) + ": " + f[0] + " is not a test image");
            if (!seen.add(f[0])) throw new IllegalStateException(csv + ":" + (i + 1) + ": " + f[0] + " appears twice");
            int c;
            try {
                c = Integer.parseInt(f[1]);
            } catch (NumberFormatException e) {
                throw new IllegalStateException(csv + ":" + (i + 1) + ": prediction '" + f[1] + "' is not a class index");
            }
            if (c < 0 || c >= numClasses) throw new IllegalStateException(csv + ":" + (i + 1) + ": class index " + c + " out of range");
        }
        if (seen.size() != expected.size())
            throw new IllegalStateException(csv + ": " + (expected.size() - seen.size()) + " of " + expected.size() + " test images have no row");
    }

    /** VIPriors indices are positions in the sorted wnid list: a wnid class list must be sorted. */
    static void checkClassOrder(List<String> classes) {
        if (!classes.stream().allMatch(c -> WNID.matcher(c).matches())) return;
        for (int i = 1; i < classes.size(); i++)
            if (classes.get(i - 1).compareTo(classes.get(i)) >= 0)
                throw new IllegalStateException("submission: the model's wnid classes are not in sorted order (" + classes.get(i - 1) + " before "
                        + classes.get(i) + "), so its indices are not the challenge's");
    }
}
