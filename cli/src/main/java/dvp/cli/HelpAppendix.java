package dvp.cli;

import java.util.List;

/**
 * A command whose usage help ends with lines computed at run time (the list of a catalog, such
 * as dvp profile's scenarios), appended to its annotated description by {@link Dvp#commandLine()}.
 */
public interface HelpAppendix {
    List<String> descriptionAppendix();
}
