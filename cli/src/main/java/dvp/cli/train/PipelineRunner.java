package dvp.cli.train;

import dvp.engine.spi.Backend;
import dvp.training.pipeline.Pipeline;
import dvp.training.pipeline.PipelineConfig;
import dvp.training.run.RunDir;
import dvp.training.session.SessionOptions;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;

/** Runs a pipeline for the pipeline and demo commands: picks its folder, prints the table and the time. */
final class PipelineRunner {
    private PipelineRunner() {}

    /** The pipeline's folder: --resume (an earlier pipeline folder), --run-dir, or a new one under --runs-dir. */
    static Path folder(SessionOptions o, String prefix) throws java.io.IOException {
        if (o.resume() != null) return o.resume();
        if (o.runDir() != null) {
            if (java.nio.file.Files.exists(o.runDir()) && !java.nio.file.Files.isDirectory(o.runDir()))
                throw new dvp.training.run.BadInputException("--run-dir " + o.runDir() + " is a file, not a folder; name a new folder or an earlier "
                        + prefix + " folder");
            return o.runDir();
        }
        return RunDir.createNew(o.runsRoot(), o.name() != null ? o.name() : prefix).path();
    }

    static int run(PipelineConfig cfg, SessionOptions o, String prefix, Backend be, PrintWriter out, PrintWriter err) throws Exception {
        PrintStream log = WriterStream.of(err);
        Pipeline pipeline = new Pipeline(cfg, o, be, log).prepare(); // bad input is reported before a folder is made
        Path folder = folder(o, prefix);
        err.println("dvp: " + prefix + " folder " + folder + (o.resume() != null ? " (finished stages are reused, the others resume)" : ""));
        err.flush();
        Pipeline.Result r = pipeline.run(folder);
        out.println();
        out.println(r.table());
        out.printf(Locale.ROOT, "total time %s (%.0f CPU-seconds on %d cores), results in %s%n", duration(r.seconds()), r.cpuSeconds(),
                Runtime.getRuntime().availableProcessors(), folder.resolve("results.md"));
        if (r.submission() != null) out.println("submission: " + r.submission());
        out.flush();
        return 0;
    }

    static String duration(double s) {
        long t = Math.round(s);
        return t >= 60 ? String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60) : t + "s";
    }
}
