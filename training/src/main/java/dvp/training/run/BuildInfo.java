package dvp.training.run;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * What this build of dvp is: the project version (filtered into {@code build-info.properties}) and
 * the git commit it was packaged from ({@code git.properties}, written when the jar is packaged; a
 * {@code compile}/{@code test} build and a source tree without git say "unknown").
 */
public record BuildInfo(String version, String gitCommit, boolean gitDirty) {
    private static volatile BuildInfo current;

    public static BuildInfo get() {
        BuildInfo b = current;
        if (b == null) current = b = load();
        return b;
    }

    private static BuildInfo load() {
        Properties build = read("build-info.properties");
        Properties git = read("git.properties");
        String version = clean(build.getProperty("version"));
        String commit = clean(git.getProperty("git.commit"));
        boolean dirty = "true".equals(git.getProperty("git.dirty"));
        return new BuildInfo(version, commit, dirty && !commit.equals("unknown"));
    }

    private static Properties read(String name) {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream(name)) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            // a build without the resource is still usable; every field then reads "unknown"
        }
        return p;
    }

    /** Unfiltered placeholders (${...}) and blanks read as "unknown". */
    private static String clean(String v) {
        if (v == null || v.isBlank() || v.contains("${")) return "unknown";
        return v.trim();
    }

    /** The first 10 hex digits of the commit, or "unknown". */
    public String shortCommit() { return shortCommit(gitCommit); }

    /** The first 10 characters of a commit id (as results files and reports show it). */
    public static String shortCommit(String commit) { return commit.length() > 10 ? commit.substring(0, 10) : commit; }

    /** "0.1.0 (git 1a2b3c4d5e)" or "0.1.0 (git 1a2b3c4d5e, uncommitted changes)". */
    public String describe() {
        return version + " (git " + shortCommit() + (gitDirty ? ", uncommitted changes" : "") + ")";
    }
}
