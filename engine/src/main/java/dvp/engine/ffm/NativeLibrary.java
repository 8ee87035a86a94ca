package dvp.engine.ffm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds and opens one native library (cuBLAS, cuDNN, oneDNN) for FFM downcalls, in this order:
 * <ol>
 *   <li>the override: system property (e.g. {@code -Ddvp.cublas.path}) or environment variable
 *       (e.g. {@code DVP_CUBLAS}), naming the library file or the folder that holds it;</li>
 *   <li>the dynamic loader by soname ({@code libcublas.so.13}, then {@code .12}): LD_LIBRARY_PATH,
 *       the ld.so cache, the default folders;</li>
 *   <li>the folders where NVIDIA's pip wheels and the CUDA toolkit put them
 *       ({@code site-packages/nvidia/cu13/lib}, {@code nvidia/cublas/lib}, {@code nvidia/cudnn/lib},
 *       {@code /usr/local/cuda/lib64}).</li>
 * </ol>
 * When nothing loads, one message names every place searched and any other versions found there
 * (e.g. "found libcudnn.so.8 in ... (wrong major version)").
 */
public final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String displayName;
    private final String loadedFrom;
    private final SymbolLookup lookup;

    private NativeLibrary(String displayName, String loadedFrom, SymbolLookup lookup) {
        this.displayName = displayName;
        this.loadedFrom = loadedFrom;
        this.lookup = lookup;
    }

    /** Where the library was loaded from (a path, or the soname the loader resolved). */
    public String loadedFrom() { return loadedFrom; }

    /**
     * Opens the first of {@code sonames} that loads. {@code baseName} is the file prefix used to
     * report other versions found ("libcublas.so.").
     */
    public static NativeLibrary open(String displayName, List<String> sonames, String baseName, String property,
                                     String env, List<String> wheelSubdirs, List<String> preloadSiblings, String installHint) {
        List<String> searched = new ArrayList<>();
        String override = System.getProperty(property);
        String overrideSource = "-D" + property;
        if (override == null || override.isBlank()) {
            override = System.getenv(env);
            overrideSource = env;
        }
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            List<Path> candidates = new ArrayList<>();
            if (Files.isDirectory(p)) for (String s : sonames) candidates.add(p.resolve(s));
            else candidates.add(p);
            StringBuilder why = new StringBuilder();
            for (Path c : candidates) {
                if (!Files.exists(c)) { why.append(c).append(" does not exist; "); continue; }
                try {
                    return openPath(displayName, c, preloadSiblings);
                } catch (IllegalArgumentException e) {
                    why.append(c).append(" would not load (").append(e.getMessage()).append("); ");
                }
            }
            throw new LibraryNotFoundException(displayName + " not loaded from " + overrideSource + "=" + override + ": " + why
                    + "expected one of " + sonames + foundElsewhere(baseName, List.of(Files.isDirectory(p) ? p : p.getParent())));
        }
        for (String s : sonames) {
            try {
                SymbolLookup l = SymbolLookup.libraryLookup(s, Arena.global());
                return new NativeLibrary(displayName, s + " (dynamic loader)", l);
            } catch (IllegalArgumentException e) {
                searched.add(s + " via the dynamic loader");
            }
        }
        List<Path> dirs = wellKnownDirs(wheelSubdirs);
        for (Path d : dirs) {
            for (String s : sonames) {
                Path c = d.resolve(s);
                if (Files.exists(c)) {
                    try {
                        return openPath(displayName, c, preloadSiblings);
                    } catch (IllegalArgumentException e) {
                        searched.add(c + " (exists but would not load: " + e.getMessage() + ")");
                    }
                }
            }
        }
        List<Path> all = new ArrayList<>(dirs);
        all.addAll(ldLibraryPathDirs());
        throw new LibraryNotFoundException(displayName + " not found: looked for " + sonames + " through the dynamic loader (LD_LIBRARY_PATH="
                + Optional.ofNullable(System.getenv("LD_LIBRARY_PATH")).orElse("<unset>") + ", the ld.so cache) and in "
                + dirs + foundElsewhere(baseName, all) + ". Install it (" + installHint + ") and put its lib folder on "
                + "LD_LIBRARY_PATH, or point " + env + " / -D" + property + " at the file or its folder.");
    }

    /** Opens exactly this file (no search): for libraries whose location is decided, like the CUDA simulator's. */
    public static NativeLibrary openFile(String displayName, Path file) {
        if (!Files.isRegularFile(file)) throw new LibraryNotFoundException(displayName + " not found: " + file + " does not exist");
        try {
            return new NativeLibrary(displayName, file.toString(), SymbolLookup.libraryLookup(file, Arena.global()));
        } catch (IllegalArgumentException e) {
            throw new LibraryNotFoundException(displayName + ": " + file + " would not load (" + e.getMessage() + ")");
        }
    }

    private static NativeLibrary openPath(String displayName, Path file, List<String> preloadSiblings) {
        // Sub-libraries that the main library dlopen()s by soname (cuDNN 9 loads libcudnn_cnn.so.9 &c.
        // at first use) resolve to copies already loaded: load them from the same folder first.
        for (String sib : preloadSiblings) {
            Path s = file.resolveSibling(sib);
            if (Files.exists(s)) {
                try { SymbolLookup.libraryLookup(s, Arena.global()); } catch (IllegalArgumentException ignored) { /* reported at use */ }
            }
        }
        return new NativeLibrary(displayName, file.toString(), SymbolLookup.libraryLookup(file, Arena.global()));
    }

    private static List<Path> ldLibraryPathDirs() {
        List<Path> out = new ArrayList<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String s : ld.split(":")) if (!s.isBlank()) out.add(Path.of(s));
        return out;
    }

    /** pip wheel and toolkit folders that exist on this machine. */
    static List<Path> wellKnownDirs(List<String> wheelSubdirs) {
        Set<Path> roots = new LinkedHashSet<>();
        for (String env : new String[]{"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = System.getenv(env);
            if (v != null) roots.addAll(sitePackages(Path.of(v, "lib")));
        }
        roots.addAll(sitePackages(Path.of("/usr/local/lib")));
        roots.addAll(sitePackages(Path.of("/usr/lib")));
        roots.addAll(sitePackages(Path.of(System.getProperty("user.home"), ".local/lib")));
        roots.addAll(sitePackages(Path.of("/opt/conda/lib")));
        Set<Path> dirs = new LinkedHashSet<>();
        for (Path r : roots) for (String sub : wheelSubdirs) {
            Path d = r.resolve(sub);
            if (Files.isDirectory(d)) dirs.add(d);
        }
        for (String d : new String[]{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"}) {
            if (Files.isDirectory(Path.of(d))) dirs.add(Path.of(d));
        }
        return new ArrayList<>(dirs);
    }

    private static List<Path> sitePackages(Path libDir) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(libDir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(libDir, "python3*")) {
            for (Path py : ds) {
                for (String sp : new String[]{"site-packages", "dist-packages"}) {
                    Path p = py.resolve(sp);
                    if (Files.isDirectory(p)) out.add(p);
                }
            }
        } catch (IOException ignored) {
            // an unreadable folder is simply not searched
        }
        return out;
    }

    /** ", found: X in D" for files named baseName* in the given folders, or "" when none. */
    private static String foundElsewhere(String baseName, List<Path> dirs) {
        List<String> found = new ArrayList<>();
        for (Path d : dirs) {
            if (d == null || !Files.isDirectory(d)) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, baseName + "*")) {
                for (Path f : ds) found.add(f.getFileName() + " in " + d);
            } catch (IOException ignored) {
                // not listable: nothing to report
            }
        }
        return found.isEmpty() ? "; found no other version" : "; found only: " + found + " (wrong version)";
    }

    /** A downcall handle for {@code name}; a missing symbol names the library and where it came from. */
    public MethodHandle function(String name, FunctionDescriptor fd) {
        MemorySegment sym = lookup.find(name).orElseThrow(() -> new LibraryNotFoundException(
                displayName + " loaded from " + loadedFrom + " has no symbol '" + name + "' (wrong or too old version?)"));
        return LINKER.downcallHandle(sym, fd);
    }

    /** A missing or unusable library; the message says what was searched and what was found. */
    public static final class LibraryNotFoundException extends RuntimeException {
        public LibraryNotFoundException(String message) { super(message); }
    }
}
