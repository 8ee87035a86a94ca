package dvp.engine.ffm;

/** One downcall that returns the library's status code (0 = success), for the bindings' check helpers. */
@FunctionalInterface
public interface StatusCall {
    int run() throws Throwable;
}
