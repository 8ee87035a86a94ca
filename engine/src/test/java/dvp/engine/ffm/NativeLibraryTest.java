package dvp.engine.ffm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The one-message failure modes of locating cuBLAS/cuDNN (no NVIDIA library is needed to test them). */
class NativeLibraryTest {
    @Test
    void overrideFolderWithOnlyAnotherVersionSaysWhatItFound(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("libdvpfake.so.8"), "not a library");
        System.setProperty("dvp.test.fake.path", dir.toString());
        try {
            NativeLibrary.LibraryNotFoundException e = assertThrows(NativeLibrary.LibraryNotFoundException.class, () ->
                    NativeLibrary.open("fake 9", List.of("libdvpfake.so.9"), "libdvpfake.so.", "dvp.test.fake.path", "DVP_TEST_FAKE",
                            List.of(), List.of(), "pip install fake"));
            String m = e.getMessage();
            assertTrue(m.contains("-Ddvp.test.fake.path=" + dir), m);
            assertTrue(m.contains("libdvpfake.so.9 does not exist"), m);
            assertTrue(m.contains("libdvpfake.so.8 in " + dir) && m.contains("wrong version"), m);
        } finally {
            System.clearProperty("dvp.test.fake.path");
        }
    }

    @Test
    void overrideFileThatIsNotALibraryIsReported(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("libdvpfake.so.9"), "not an ELF file");
        System.setProperty("dvp.test.fake.path", f.toString());
        try {
            NativeLibrary.LibraryNotFoundException e = assertThrows(NativeLibrary.LibraryNotFoundException.class, () ->
                    NativeLibrary.open("fake 9", List.of("libdvpfake.so.9"), "libdvpfake.so.", "dvp.test.fake.path", "DVP_TEST_FAKE",
                            List.of(), List.of(), "pip install fake"));
            assertTrue(e.getMessage().contains("would not load"), e.getMessage());
        } finally {
            System.clearProperty("dvp.test.fake.path");
        }
    }

    @Test
    void nothingFoundNamesEverySearchAndTheOverride() {
        NativeLibrary.LibraryNotFoundException e = assertThrows(NativeLibrary.LibraryNotFoundException.class, () ->
                NativeLibrary.open("fake 9", List.of("libdvpfake.so.9"), "libdvpfake.so.", "dvp.test.fake.path", "DVP_TEST_FAKE",
                        List.of("nvidia/fake/lib"), List.of(), "pip install fake"));
        String m = e.getMessage();
        assertTrue(m.contains("libdvpfake.so.9") && m.contains("dynamic loader") && m.contains("LD_LIBRARY_PATH"), m);
        assertTrue(m.contains("DVP_TEST_FAKE") && m.contains("-Ddvp.test.fake.path") && m.contains("pip install fake"), m);
    }

    @Test
    void aRealSystemLibraryLoadsThroughTheLoaderAndMissingSymbolsAreNamed() {
        NativeLibrary libc = NativeLibrary.open("libc", List.of("libc.so.6"), "libc.so.", "dvp.test.libc", "DVP_TEST_LIBC",
                List.of(), List.of(), "-");
        assertTrue(libc.loadedFrom().contains("libc.so.6"));
        NativeLibrary.LibraryNotFoundException e = assertThrows(NativeLibrary.LibraryNotFoundException.class, () ->
                libc.function("cublasDefinitelyNotHere", java.lang.foreign.FunctionDescriptor.ofVoid()));
        assertTrue(e.getMessage().contains("no symbol 'cublasDefinitelyNotHere'"), e.getMessage());
    }
}
