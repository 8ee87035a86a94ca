package dvp.engine.parity;

/**
 * One compared output of one primitive: the largest error relative to the reference's scale,
 * {@code max|dut - ref| / max(max|ref|, 1e-30)}, against the check's tolerance. Non-finite values in
 * the device output where the reference is finite (a poisoned element never written) fail.
 */
public record ParityResult(String op, String output, String shape, double maxRelError, double tolerance, boolean pass, String note) {
    public String row() {
        return String.format("%-28s %-10s %-26s %10.3e %9.1e  %s%s", op, output, shape, maxRelError, tolerance, pass ? "PASS" : "FAIL",
                note == null || note.isEmpty() ? "" : "  " + note);
    }

    public static String header() {
        return String.format("%-28s %-10s %-26s %10s %9s  %s", "op", "output", "shape", "max rel err", "tolerance", "result");
    }
}
