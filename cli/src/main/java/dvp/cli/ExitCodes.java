package dvp.cli;

import dvp.engine.spi.BackendUnavailableException;
import dvp.training.run.BadInputException;
import dvp.training.run.NonFiniteLossException;
import dvp.training.run.NonFiniteOutputException;
import dvp.training.run.RunInterruptedException;
import picocli.CommandLine;

import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.LinkedHashMap;
import java.util.Map;

/** The exit codes of every dvp command (listed in each command's --help) and how errors map to them. */
public final class ExitCodes implements CommandLine.IExitCodeExceptionMapper {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int BAD_INPUT = 2;
    public static final int NO_BACKEND = 3;
    public static final int OUT_OF_MEMORY = 4;
    public static final int INTERRUPTED = 5;
    public static final int NON_FINITE_LOSS = 6;
    public static final int SECOND_SIGNAL = 130;

    /** Which exit codes a command can end with. */
    public enum Kind {
        /** the training commands: they checkpoint, so Ctrl-C is 5 and a second one 130 */
        TRAINING,
        /** evaluate, predict: they score models (6: NaN/Inf weights or logits); Ctrl-C stops them at once */
        SCORING,
        /** every other command; Ctrl-C stops it at once */
        OTHER,
        /** the root: every code */
        ALL
    }

    /** For the usage help's "Exit codes" section: the codes a command of this kind can end with. */
    public static Map<String, String> descriptions(Kind kind) {
        boolean training = kind == Kind.TRAINING || kind == Kind.ALL;
        Map<String, String> m = new LinkedHashMap<>();
        m.put(Integer.toString(OK), "success");
        m.put(Integer.toString(FAILURE), "failure (an unexpected error; --debug shows the stack trace)");
        m.put(Integer.toString(BAD_INPUT), "bad input: unknown option, bad value, missing or corrupt file");
        m.put(Integer.toString(NO_BACKEND), "the requested device/backend is not available here (see dvp doctor)");
        m.put(Integer.toString(OUT_OF_MEMORY), "out of memory (host or device)");
        if (training) m.put(Integer.toString(INTERRUPTED), "interrupted (Ctrl-C/SIGTERM) after writing a checkpoint; continue with --resume");
        if (kind == Kind.ALL)
            m.put(Integer.toString(NON_FINITE_LOSS), "NaN/Inf: the loss became NaN/Inf (stopped, last good checkpoint kept), or a model to "
                    + "score has NaN/Inf weights or logits");
        else if (kind == Kind.TRAINING) m.put(Integer.toString(NON_FINITE_LOSS), "the loss became NaN/Inf: stopped, last good checkpoint kept");
        else if (kind == Kind.SCORING) m.put(Integer.toString(NON_FINITE_LOSS), "a model to score has NaN/Inf weights or logits");
        m.put(Integer.toString(SECOND_SIGNAL), kind == Kind.ALL ? "stopped at once by Ctrl-C/SIGTERM: a second one while training (no checkpoint), "
                + "the first one otherwise" : training ? "stopped at once by a second Ctrl-C (no checkpoint)" : "stopped by Ctrl-C/SIGTERM");
        return m;
    }

    @Override
    public int getExitCode(Throwable exception) { return of(exception); }

    public static int of(Throwable exception) {
        for (Throwable t = exception; t != null; t = t.getCause()) {
            if (t instanceof RunInterruptedException) return INTERRUPTED;
            if (t instanceof NonFiniteLossException || t instanceof NonFiniteOutputException) return NON_FINITE_LOSS;
            if (t instanceof BackendUnavailableException) return NO_BACKEND;
            if (isOutOfMemory(t)) return OUT_OF_MEMORY;
            if (isBadInput(t)) return BAD_INPUT;
            if (t.getCause() == t) break;
        }
        return FAILURE;
    }

    /** Java heap exhaustion, or a device allocator's out-of-memory exception (any class named *OutOfMemory*). */
    static boolean isOutOfMemory(Throwable t) {
        return t instanceof OutOfMemoryError || t.getClass().getSimpleName().contains("OutOfMemory");
    }

    static boolean isBadInput(Throwable t) {
        return t instanceof BadInputException || t instanceof CommandLine.ParameterException
                || t instanceof NoSuchFileException || t instanceof AccessDeniedException || t instanceof NotDirectoryException
                || t instanceof java.nio.file.FileAlreadyExistsException;
    }
}
