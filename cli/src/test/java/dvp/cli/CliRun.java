package dvp.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

/** Runs dvp in-process and captures what it printed. */
record CliRun(int code, String out, String err) {
    static CliRun of(String... args) { return of(Dvp.commandLine(), args); }

    static CliRun of(CommandLine cmd, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Dvp.execute(cmd, args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(code, out.toString(), err.toString());
    }

    List<String> errLines() { return err.lines().toList(); }
}
