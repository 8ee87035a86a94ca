package dvp.cli.doctor;

import dvp.training.data.FashionMnist;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Whether the datasets dvp can use without downloading anything are here: Fashion-MNIST, which the demo needs. */
public final class DatasetsCheck implements DoctorCheck {
    private static final List<String> FILES = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte");

    @Override
    public int order() { return 50; }

    @Override
    public List<Finding> run() { return List.of(fashionMnist(FashionMnist.DEFAULT_DIR)); }

    static Finding fashionMnist(Path dir) {
        List<String> missing = FILES.stream().filter(f -> !Files.isRegularFile(dir.resolve(f)) && !Files.isRegularFile(dir.resolve(f + ".gz"))).toList();
        if (missing.isEmpty()) return Finding.ok("datasets", "Fashion-MNIST in " + dir + " (dvp demo, --data fashion-mnist)");
        return Finding.warn("datasets", "Fashion-MNIST not in " + dir + " (missing " + String.join(", ", missing)
                + "): dvp demo needs it (apt-get install dataset-fashion-mnist, or --fashion-mnist DIR)");
    }
}
