package dvp.nn.parity;

import org.junit.jupiter.api.Assumptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The PyTorch side of the parity suite: one {@code /usr/bin/python3 torch_parity.py} process per
 * test JVM (torch is imported once), fed one case per line. When Python or torch is missing the
 * calling test is <b>skipped</b> with the reason (never passed silently); with the environment
 * variable {@code DVP_REQUIRE_TORCH=1} (set by CI, which installs them) it fails instead.
 */
final class TorchOracle {
    static final Path SCRIPT = Path.of("src/test/python/torch_parity.py").toAbsolutePath();
    static final Path WORK = Path.of("target/torch-parity").toAbsolutePath();
    private static final String PYTHON = System.getProperty("dvp.python", "/usr/bin/python3");
    private static final long START_TIMEOUT_S = 120, CASE_TIMEOUT_S = 600;

    private static TorchOracle instance;
    private static String unavailable; // why the oracle cannot run, once we know

    private final Process process;
    private final Writer requests;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
    private final Path stderrLog;
    final String versions;

    private TorchOracle(Process process, Path stderrLog) throws IOException, InterruptedException {
        this.process = process;
        this.stderrLog = stderrLog;
        this.requests = process.outputWriter(StandardCharsets.UTF_8);
        Thread reader = Thread.ofVirtual().unstarted(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) replies.add(line);
            } catch (IOException ignored) {
                // the process went away; the waiting side reports it
            }
            replies.add("exit");
        });
        reader.start();
        String first = replies.poll(START_TIMEOUT_S, TimeUnit.SECONDS);
        if (first == null || !first.startsWith("ready ")) {
            process.destroy();
            throw new IOException(first == null ? "no answer within " + START_TIMEOUT_S + " s" : lastStderrLine());
        }
        versions = first.substring("ready ".length());
    }

    /** The running oracle; skips (or, under DVP_REQUIRE_TORCH=1, fails) the calling test when none can run. */
    static synchronized TorchOracle get() {
        if (instance == null && unavailable == null) {
            try {
                instance = start();
            } catch (IOException | InterruptedException e) {
                unavailable = e.getMessage();
            }
        }
        if (instance == null) {
            String why = "PyTorch parity check skipped: " + unavailable
                    + " (needs Debian's python3-torch and python3-torchvision for " + PYTHON + "; CI installs them)";
            if ("1".equals(System.getenv("DVP_REQUIRE_TORCH"))) fail(why.replace("skipped", "cannot run") + " and DVP_REQUIRE_TORCH=1");
            Assumptions.abort(why);
        }
        return instance;
    }

    private static TorchOracle start() throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of(PYTHON))) throw new IOException(PYTHON + " not found");
        if (!Files.isRegularFile(SCRIPT)) throw new IOException("script " + SCRIPT + " not found");
        Files.createDirectories(WORK);
        Path log = WORK.resolve("python-stderr.log");
        ProcessBuilder pb = new ProcessBuilder(PYTHON, "-u", SCRIPT.toString())
                .redirectError(ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        TorchOracle o = new TorchOracle(pb.start(), log);
        Runtime.getRuntime().addShutdownHook(new Thread(o.process::destroy));
        return o;
    }

    /** Runs one case: torch reads {@code in}, writes {@code out}. Returns torch's seconds. */
    synchronized double run(Path in, Path out) throws IOException, InterruptedException {
        if (!process.isAlive()) throw new IOException("the torch_parity.py process has exited: " + lastStderrLine());
        requests.write(in.toAbsolutePath() + "\t" + out.toAbsolutePath() + "\n");
        requests.flush();
        String reply = replies.poll(CASE_TIMEOUT_S, TimeUnit.SECONDS);
        if (reply == null) throw new IOException("torch_parity.py gave no answer within " + CASE_TIMEOUT_S + " s for " + in);
        if (reply.startsWith("ok ")) return Double.parseDouble(reply.substring(3));
        if (reply.equals("exit")) throw new IOException("torch_parity.py exited: " + lastStderrLine());
        throw new AssertionError("PyTorch failed on " + in.getFileName() + ": " + reply.substring(reply.indexOf(' ') + 1)
                + " (traceback in " + stderrLog + ")");
    }

    private String lastStderrLine() {
        try {
            var lines = Files.readAllLines(stderrLog).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "(no error output)" : lines.getLast().strip();
        } catch (IOException e) {
            return "(no error output)";
        }
    }
}
