package dvp.training.run;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes that are all-or-nothing after a crash or SIGKILL: data goes to a temporary name in the
 * same directory, is forced to disk, and only then renamed into place (rename within one file
 * system is atomic on POSIX); the directory is forced too so the rename itself survives a power
 * cut. Readers therefore see the old file or the new one, never a torn one.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    @FunctionalInterface
    public interface Writer {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Replaces (or creates) target with what writer writes. */
    public static void write(Path target, Writer writer) throws IOException {
        Path dir = parentOf(target);
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            writeDurably(tmp, writer);
            move(tmp, target);
            fsyncDirectory(dir);
        } catch (FileSystemException e) {
            if (!tmp.toString().equals(e.getFile())) throw e;
            // the user knows the file, not its temporary name
            FileSystemException named = new FileSystemException(target.toString(), null, e.getReason());
            named.initCause(e);
            throw named;
        } catch (IOException e) {
            throw naming(target, e);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Writes a new file and forces its bytes to disk before returning. */
    public static void writeDurably(Path file, Writer writer) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            writer.writeTo(out);
            out.flush();
            ch.force(true);
        } catch (IOException e) {
            throw naming(file, e);
        }
    }

    /** Forces a file already written (by someone else's writer) to disk. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        } catch (IOException e) {
            throw naming(file, e);
        }
    }

    /**
     * An error writing {@code file} as one that names it: the kernel's ENOSPC ("No space left on
     * device") and EIO reach Java without a file name, which leaves a user of a full disk guessing.
     */
    public static IOException naming(Path file, IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null) return e;
        FileSystemException named = new FileSystemException(file.toString(), null, e.getMessage() != null ? e.getMessage() : e.toString());
        named.initCause(e);
        return named;
    }

    /** Makes renames/creations inside dir durable (Linux: fsync on the directory descriptor). */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems refuse fsync on directories; the rename is still atomic there
        }
    }

    /** Atomic rename, replacing target; a file system without atomic rename is an error, not a fallback. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically on this file system", e);
        }
    }

    /**
     * Points the symbolic link {@code link} at {@code target} (a sibling's name, stored relative so
     * the folder can be moved), replacing an existing link atomically.
     */
    public static void pointLink(Path link, Path target) throws IOException {
        Path dir = parentOf(link);
        Path tmp = dir.resolve("." + link.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Path relative = target.isAbsolute() ? dir.toAbsolutePath().relativize(target.toAbsolutePath()) : target;
        try {
            Files.createSymbolicLink(tmp, relative);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("temporary link " + tmp + " exists", e);
        }
        try {
            move(tmp, link);
            fsyncDirectory(dir);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Path parentOf(Path p) {
        Path parent = p.toAbsolutePath().getParent();
        if (parent == null) throw new IllegalArgumentException("no parent directory: " + p);
        return parent;
    }
}
