package dvp.training.moco;

import dvp.engine.Tensor;
import dvp.engine.spi.Backends;
import dvp.training.session.TrainingSession;
import dvp.training.testing.ShapesDataset;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Phase 1 on the tiny test network as a process, for the SIGKILL/resume test:
 * {@code PretrainProcess runDir epochs [resume]} trains {@link PretrainerTest#tinyConfig} (resuming
 * from runDir's last checkpoint when asked) and writes the final state's bytes to runDir/final.bin.
 */
public final class PretrainProcess {
    private PretrainProcess() {}

    /** Every float of both encoders' state dicts and the queue, the pointer as a float: what must match after a resume. */
    static float[] fingerprint(Pretrainer p) {
        List<Tensor> ts = new ArrayList<>();
        ts.addAll(p.model().encoderQ().stateDict().values());
        ts.addAll(p.model().encoderK().stateDict().values());
        ts.add(p.model().queue());
        ts.add(p.model().queuePtr());
        for (Map.Entry<String, Tensor> e : p.optimizer().momentumBuffers().entrySet()) ts.add(e.getValue());
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (Tensor t : ts) {
            float[] f;
            if (t.dtype() == dvp.engine.DType.F32) f = t.toFloatArray();
            else {
                long[] l = t.toLongArray();
                f = new float[l.length];
                for (int i = 0; i < l.length; i++) f[i] = l[i];
            }
            parts.add(f);
            n += f.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] f : parts) {
            System.arraycopy(f, 0, out, at, f.length);
            at += f.length;
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        Path run = Path.of(args[0]);
        int epochs = Integer.parseInt(args[1]);
        Path resume = args.length > 2 ? run : null;
        PretrainConfig cfg = PretrainerTest.tinyConfig(epochs);
        float[] f;
        try (TrainingSession s = TrainingSession.open("pretrain", PretrainerTest.options(run, resume), cfg, Backends.cpu());
             Pretrainer p = new Pretrainer(cfg, new ShapesDataset(64, 16, 1, 1), ShapesDataset.normalize(1), Backends.cpu(), s)) {
            p.train();
            f = fingerprint(p);
        }
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : f) b.putFloat(v);
        Files.write(run.resolve("final.bin.tmp"), b.array());
        Files.move(run.resolve("final.bin.tmp"), run.resolve("final.bin"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
