package dvp.training.observe;

import java.util.Locale;
import java.util.Map;

/**
 * {@code --progress auto|bar|plain|none}. {@code auto} draws a bar only where it can be seen: on a
 * terminal (stderr, where progress goes), not in CI ({@code CI} set) and not on a dumb terminal;
 * otherwise plain periodic lines, so redirected logs stay free of control characters.
 */
public enum ProgressMode {
    AUTO, BAR, PLAIN, NONE;

    /** BAR, PLAIN or NONE for this mode in this environment. */
    public ProgressMode resolve(Map<String, String> env, boolean stderrIsTerminal) {
        if (this != AUTO) return this;
        String ci = env.get("CI");
        boolean inCi = ci != null && !ci.isBlank() && !ci.equalsIgnoreCase("false") && !ci.equals("0");
        boolean dumb = "dumb".equals(env.get("TERM"));
        return stderrIsTerminal && !inCi && !dumb ? BAR : PLAIN;
    }

    public ProgressMode resolve() { return resolve(System.getenv(), Terminal.stderrIsTerminal()); }

    /** Case-insensitive parse for option values ("auto", "BAR"). */
    public static ProgressMode parse(String s) { return valueOf(s.trim().toUpperCase(Locale.ROOT)); }
}
