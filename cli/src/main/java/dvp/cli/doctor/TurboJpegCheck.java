package dvp.cli.doctor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** libturbojpeg (SIMD JPEG decoding with DCT scaling); without it JPEGs decode through ImageIO, slower. */
final class TurboJpegCheck implements DoctorCheck {
    static final List<String> NAMES = List.of("libturbojpeg.so.0", "libturbojpeg.so");

    @Override
    public int order() { return 40; }

    @Override
    public List<Finding> run() {
        for (String name : NAMES) {
            try (Arena arena = Arena.ofConfined()) {
                SymbolLookup lib = SymbolLookup.libraryLookup(name, arena);
                if (lib.find("tjInitDecompress").isEmpty() && lib.find("tj3Init").isEmpty())
                    return List.of(Finding.warn("turbojpeg", name + " loads but has no TurboJPEG decoder API"));
                return List.of(Finding.ok("turbojpeg", loadedPath(name) + " (fast JPEG decoding)"));
            } catch (IllegalArgumentException | IllegalCallerException e) {
                // not found under this name (or native access disabled): try the next
            }
        }
        return List.of(Finding.warn("turbojpeg", "not found (looked for " + String.join(", ", NAMES)
                + " on the loader path): JPEGs decode with ImageIO, slower (apt-get install libturbojpeg0)"));
    }

    /** Where the loader found the library (from /proc/self/maps while it is loaded), else its name. */
    private static String loadedPath(String name) {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .filter(l -> l.contains("libturbojpeg"))
                    .map(l -> l.substring(l.indexOf('/')))
                    .findFirst().orElse(name);
        } catch (IOException | RuntimeException e) {
            return name;
        }
    }
}
