package dvp.cli;

import dvp.engine.spi.Backends;
import dvp.engine.testing.ChildJvm;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One dvp command in a child JVM without the CUDA simulator (the test JVMs get DVP_CUDA_SIM=1 from
 * the build): what a user on a machine without a GPU sees. The child prints whether CUDA is available
 * there (true only on a machine with a real GPU), the exit code, stdout and stderr.
 */
public final class WithoutSimulator {
    /** What the command did in the child JVM. */
    public record Result(boolean cudaAvailable, int code, String out, String err) {}

    public static Result run(String... args) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("DVP_CUDA_SIM", null);
        env.put("DVP_CUDA_SIM_DIR", null);
        ChildJvm.Result r = ChildJvm.run(env, List.of(), WithoutSimulator.class, args);
        if (r.exit() != 0) throw new AssertionError("child JVM failed:\n" + r.output());
        String o = r.output();
        String out = section(o, "---out---", "---err---"), err = section(o, "---err---", "---end---");
        boolean cuda = o.contains("cuda-available=true");
        int code = Integer.parseInt(o.lines().filter(l -> l.startsWith("exit=")).findFirst().orElseThrow(() -> new AssertionError(o)).substring(5));
        return new Result(cuda, code, out, err);
    }

    private static String section(String s, String from, String to) {
        int a = s.indexOf(from), b = s.indexOf(to);
        return a < 0 || b < a ? "" : s.substring(a + from.length() + 1, b);
    }

    public static void main(String[] args) {
        boolean cuda = Backends.all().stream().anyMatch(b -> b.name().equals("cuda") && b.availability().available());
        CliRun r = CliRun.of(Arrays.copyOf(args, args.length));
        System.out.println("cuda-available=" + cuda);
        System.out.println("exit=" + r.code());
        System.out.println("---out---");
        System.out.print(r.out());
        System.out.println("---err---");
        System.out.print(r.err());
        System.out.println("---end---");
    }
}
