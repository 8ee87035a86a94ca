package dvp.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * How errors reach the user: one line on stderr that says what is wrong, never a stack trace
 * (unless --debug). Bad command lines point to the command's --help; the exit code comes from
 * {@link ExitCodes}.
 */
final class ErrorReporting {
    private ErrorReporting() {}

    /** Usage errors (unknown option, bad value, missing parameter): exit code 2. */
    static final class ParameterErrors implements CommandLine.IParameterExceptionHandler {
        @Override
        public int handleParseException(CommandLine.ParameterException ex, String[] args) {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            String name = cmd.getCommandSpec().qualifiedName();
            StringBuilder line = new StringBuilder(name).append(": ");
            String unknownCommand = unknownCommand(ex);
            if (unknownCommand != null) {
                line.append("unknown command '").append(unknownCommand).append("' (commands: ")
                        .append(String.join(", ", cmd.getSubcommands().keySet())).append(")");
                err.println(line);
                err.flush();
                return ExitCodes.BAD_INPUT;
            }
            line.append(oneLine(ex.getMessage()));
            if (ex instanceof CommandLine.UnmatchedArgumentException u) {
                List<String> s = u.getSuggestions();
                if (!s.isEmpty()) line.append(" (did you mean ").append(String.join(" or ", s.subList(0, Math.min(3, s.size())))).append("?)");
            }
            line.append(" (see '").append(name).append(" --help')");
            err.println(line);
            err.flush();
            return ExitCodes.BAD_INPUT;
        }
    }

    /** The word given where a subcommand was expected, if that is what went wrong. */
    private static String unknownCommand(CommandLine.ParameterException ex) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u)) return null;
        CommandLine cmd = ex.getCommandLine();
        if (cmd.getSubcommands().isEmpty() || !cmd.getCommandSpec().positionalParameters().isEmpty()) return null;
        List<String> unmatched = u.getUnmatched();
        if (unmatched.isEmpty() || unmatched.getFirst().startsWith("-")) return null;
        return unmatched.getFirst();
    }

    /** Errors while a command runs: one line, or the stack trace with --debug. */
    static final class ExecutionErrors implements CommandLine.IExecutionExceptionHandler {
        private final BooleanSupplier debug;

        ExecutionErrors(BooleanSupplier debug) { this.debug = debug; }

        @Override
        public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
            PrintWriter err = cmd.getErr();
            int code = ExitCodes.of(ex);
            err.println(cmd.getCommandSpec().qualifiedName() + ": " + message(ex, code));
            if (debug.getAsBoolean()) ex.printStackTrace(err);
            err.flush();
            return code;
        }
    }

    /** The one line shown for an error. */
    static String message(Throwable ex, int code) {
        Throwable t = ex;
        // wrappers (UncheckedIOException, ExecutionException...) carry the real problem as their cause
        while (t.getCause() != null && t.getCause() != t && (t.getMessage() == null || t instanceof java.io.UncheckedIOException
                || t instanceof java.util.concurrent.ExecutionException || t instanceof java.lang.reflect.InvocationTargetException))
            t = t.getCause();
        String m = oneLine(t.getMessage());
        if (t instanceof NoSuchFileException f) return "no such file or directory: " + f.getFile() + reason(f);
        if (t instanceof AccessDeniedException f) return "permission denied: " + f.getFile() + reason(f);
        if (t instanceof NotDirectoryException f) return "not a directory: " + f.getFile();
        if (t instanceof FileAlreadyExistsException f && f.getFile() != null)
            return f.getFile() + (Files.isDirectory(Path.of(f.getFile())) ? " already exists" : " is a file where a folder is needed");
        if (t instanceof FileSystemException f && f.getFile() != null)
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : !m.equals(f.getFile()) ? m : t.getClass().getSimpleName());
        return switch (code) {
            case ExitCodes.OUT_OF_MEMORY -> "out of memory: " + (m.isEmpty() ? t.getClass().getSimpleName() : m)
                    + " (use a smaller batch; the Java heap can be raised with DVP_JAVA_OPTS=-Xmx...)";
            case ExitCodes.FAILURE -> "error: " + t.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m)
                    + " (run with --debug for the stack trace)";
            default -> m.isEmpty() ? t.getClass().getSimpleName() : m;
        };
    }

    private static String reason(FileSystemException f) {
        return f.getReason() == null ? "" : " (" + f.getReason() + ")";
    }

    static String oneLine(String s) {
        if (s == null) return "";
        return s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
