package dvp.training.run;

/**
 * The user asked for something that cannot work: a missing or corrupt file they named, an option
 * value out of range, a checkpoint that does not fit the model. The command line turns it into
 * exit code 2 and prints only its message (which must name the file or option and the problem).
 */
public class BadInputException extends RuntimeException {
    public BadInputException(String message) { super(message); }

    public BadInputException(String message, Throwable cause) { super(message, cause); }
}
