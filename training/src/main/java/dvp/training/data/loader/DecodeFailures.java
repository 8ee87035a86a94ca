package dvp.training.data.loader;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The images a loader could not read or decode. Each bad file is named in one warning (the first
 * time), counted every time it is met, and its index remembered so later epochs skip it without
 * reading it again.
 */
public final class DecodeFailures {
    private static final Logger LOG = Logger.getLogger(DecodeFailures.class.getName());
    private final Set<Integer> badIndices = ConcurrentHashMap.newKeySet();
    private final Set<String> files = ConcurrentHashMap.newKeySet();
    private final AtomicLong count = new AtomicLong();

    void record(int index, String file, String reason) {
        count.incrementAndGet();
        badIndices.add(index);
        if (files.add(file)) LOG.warning("skipping unreadable image " + reason + " (replaced by another sample; use strict decoding to stop instead)");
    }

    boolean isKnownBad(int index) { return badIndices.contains(index); }

    /** How many times an unreadable image was met (a file met in two epochs counts twice). */
    public long count() { return count.get(); }

    /** The distinct unreadable files, sorted. */
    public List<String> files() {
        List<String> l = new ArrayList<>(files);
        Collections.sort(l);
        return l;
    }
}
