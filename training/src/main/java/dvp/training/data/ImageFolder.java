package dvp.training.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * torchvision's {@code ImageFolder}: {@code root/<class>/.../<image>}. Classes are the sorted names
 * of root's immediate sub-folders and their index is their position in that order; images are
 * collected recursively (following symbolic links) and kept when their name ends with an allowed
 * extension, case-insensitively. The order is torchvision's: classes in order, inside a class the
 * folders sorted by path and the files of each folder sorted by name (code-point order, as Python
 * sorts strings). An empty root or a class without images is an error naming them.
 */
public final class ImageFolder implements ImageDataset {
    /** torchvision's IMG_EXTENSIONS. */
    public static final List<String> IMG_EXTENSIONS = List.of(".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp");

    /** Python's str ordering (by code point), which differs from String.compareTo outside the BMP. */
    static final Comparator<String> CODE_POINT_ORDER = (a, b) -> {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    };

    private final Path root;
    private final List<String> classes;
    private final List<Path> files;
    private final int[] labels;

    private ImageFolder(Path root, List<String> classes, List<Path> files, int[] labels) {
        this.root = root;
        this.classes = classes;
        this.files = files;
        this.labels = labels;
    }

    /** An ImageFolder with torchvision's extensions; no empty classes allowed. */
    public static ImageFolder open(Path root) throws IOException { return open(root, IMG_EXTENSIONS, false); }

    public static ImageFolder open(Path root, List<String> extensions, boolean allowEmpty) throws IOException {
        if (!Files.isDirectory(root)) throw new DatasetException("image folder " + root + " does not exist or is not a directory");
        List<String> classes = new ArrayList<>();
        try (var s = Files.list(root)) {
            for (Path p : (Iterable<Path>) s::iterator) if (Files.isDirectory(p)) classes.add(p.getFileName().toString());
        }
        classes.sort(CODE_POINT_ORDER);
        if (classes.isEmpty()) throw new DatasetException("Couldn't find any class folder in " + root + ".");
        List<String> exts = extensions.stream().map(e -> e.toLowerCase(Locale.ROOT)).toList();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        TreeSet<String> empty = new TreeSet<>(CODE_POINT_ORDER);
        for (int c = 0; c < classes.size(); c++) {
            int before = files.size();
            collect(root.resolve(classes.get(c)), exts, files, new ArrayList<>());
            for (int i = before; i < files.size(); i++) labels.add(c);
            if (files.size() == before) empty.add(classes.get(c));
        }
        if (!empty.isEmpty() && !allowEmpty)
            throw new DatasetException("Found no valid file for the classes " + String.join(", ", empty) + " in " + root
                    + ". Supported extensions are: " + String.join(", ", extensions));
        return new ImageFolder(root, List.copyOf(classes), List.copyOf(files), labels.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * Appends the images under dir in os.walk order sorted by folder path: each folder's own files
     * (sorted by name), folders in path order. {@code visiting} guards against symlink cycles.
     */
    private static void collect(Path classDir, List<String> exts, List<Path> out, List<Path> visiting) throws IOException {
        // gather (folder path string, files) for every folder below classDir, then sort by the path string
        Map<String, List<String>> byFolder = new LinkedHashMap<>();
        walk(classDir, "", exts, byFolder, visiting);
        List<String> folders = new ArrayList<>(byFolder.keySet());
        folders.sort(CODE_POINT_ORDER);
        for (String f : folders) {
            List<String> names = byFolder.get(f);
            names.sort(CODE_POINT_ORDER);
            for (String n : names) out.add(f.isEmpty() ? classDir.resolve(n) : classDir.resolve(f).resolve(n));
        }
    }

    private static void walk(Path dir, String rel, List<String> exts, Map<String, List<String>> byFolder, List<Path> visiting) throws IOException {
        Path real = dir.toRealPath();
        if (visiting.contains(real)) return; // a symlink loop: os.walk would recurse forever, we stop
        visiting.add(real);
        List<String> names = new ArrayList<>();
        List<String> subdirs = new ArrayList<>();
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String name = p.getFileName().toString();
                if (Files.isDirectory(p)) subdirs.add(name);
                else if (hasExtension(name, exts)) names.add(name);
            }
        }
        byFolder.put(rel, names);
        for (String d : subdirs) walk(dir.resolve(d), rel.isEmpty() ? d : rel + "/" + d, exts, byFolder, visiting);
        visiting.remove(visiting.size() - 1);
    }

    static boolean hasExtension(String name, List<String> lowerExts) {
        String l = name.toLowerCase(Locale.ROOT);
        for (String e : lowerExts) if (l.endsWith(e)) return true;
        return false;
    }

    public Path root() { return root; }

    public Path path(int index) {
        checkIndex(index);
        return files.get(index);
    }

    /** torchvision's class_to_idx. */
    public Map<String, Integer> classToIndex() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < classes.size(); i++) m.put(classes.get(i), i);
        return Collections.unmodifiableMap(m);
    }

    @Override public int size() { return files.size(); }

    @Override public List<String> classes() { return classes; }

    @Override
    public int label(int index) {
        checkIndex(index);
        return labels[index];
    }

    @Override public String describe(int index) { return path(index).toString(); }

    @Override
    public SampleSource read(int index) throws IOException {
        return new SampleSource.Encoded(Files.readAllBytes(path(index)));
    }

    @Override
    public String toString() { return "ImageFolder(" + root + ": " + files.size() + " images, " + classes.size() + " classes)"; }
}
