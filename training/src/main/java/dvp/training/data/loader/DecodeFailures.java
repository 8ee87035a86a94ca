package dvp.training.data.loader;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The images a loader could not read or decode: each bad file is counted every time it is met and
 * its index remembered, so later epochs skip it without reading it again. Nothing is printed here:
 * whoever runs the loader reports the files once ({@link #summary}).
 */
public final class DecodeFailures {
    private final Set<Integer> badIndices = ConcurrentHashMap.newKeySet();
    private final Set<String> files = ConcurrentHashMap.newKeySet();
    private final AtomicLong count = new AtomicLong();
    private volatile String firstReason;

    void record(int index, String file, String reason) {
        count.incrementAndGet();
        badIndices.add(index);
        files.add(file);
        if (firstReason == null) firstReason = reason;
    }

    boolean isKnownBad(int index) { return badIndices.contains(index); }

    /** How many times an unreadable image was met (a file met in two epochs counts twice). */
    public long count() { return count.get(); }

    /**
     * "3 unreadable images (a.jpg, b.jpg, c.jpg; first: a.jpg: empty file)", at most {@code shown}
     * names, or null when there were none.
     */
    public String summary(int shown) {
        List<String> f = files();
        if (f.isEmpty()) return null;
        String names = String.join(", ", f.subList(0, Math.min(shown, f.size()))) + (f.size() > shown ? " and " + (f.size() - shown) + " more" : "");
        return f.size() + " unreadable image" + (f.size() == 1 ? "" : "s") + " (" + names + "; first: " + firstReason + ")";
    }

    /** The distinct unreadable files, sorted. */
    public List<String> files() {
        List<String> l = new ArrayList<>(files);
        Collections.sort(l);
        return l;
    }
}
