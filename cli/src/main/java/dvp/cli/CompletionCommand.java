package dvp.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;

/**
 * {@code dvp completion}: picocli's {@link AutoComplete.GenerateCompletion} under a shorter name,
 * visible in the help, and strict about its arguments ({@link Dvp#commandLine()} clears the
 * "help command" mark picocli's carries, which makes it accept anything).
 */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Prints a bash/zsh completion script for dvp.",
                "bash: source <(dvp completion)    zsh: autoload -U +X bashcompinit && bashcompinit && source <(dvp completion)", ""})
public final class CompletionCommand extends AutoComplete.GenerateCompletion {
}
