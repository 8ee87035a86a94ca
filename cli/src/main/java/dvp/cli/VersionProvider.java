package dvp.cli;

import dvp.training.run.BuildInfo;
import picocli.CommandLine;

/** {@code dvp --version}: the tool's version and git commit (stamped at build time) and the JDK. */
public final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        BuildInfo b = BuildInfo.get();
        return new String[] {
                "dvp " + b.describe(),
                "JDK " + Runtime.version() + " (" + System.getProperty("java.vendor") + ") on "
                        + System.getProperty("os.name") + " " + System.getProperty("os.arch")
        };
    }
}
