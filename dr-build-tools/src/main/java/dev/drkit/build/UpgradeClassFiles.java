package dev.drkit.build;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;

/**
 * Rewrites the class files under some package prefixes of a jar that are older than Java 6
 * (class file version 50) as Java 8 class files (52), with the stack map frames the JVM's
 * verifier for them needs; the code itself is left as it is. Every other entry is copied
 * unchanged, in the same order.
 *
 * <p>Why: the JVM's class-data sharing cannot archive class files older than Java 6, and picocli
 * ships Java 5 class files for its Java 5 users; in drkit's CLI jar that left its 200-odd classes
 * to be read, verified with the old type-inferring verifier and interpreted on every start
 * (about 40 ms of CPU per command). Rewritten, {@code bin/drkit}'s class-data archive holds them.
 *
 * <p>Usage: {@code UpgradeClassFiles JAR PREFIX...}, for example {@code target/drkit.jar picocli/};
 * the jar is replaced atomically. A class that cannot be rewritten fails the build.
 */
public final class UpgradeClassFiles {
    /** The first class file version that class-data sharing archives. */
    static final int JAVA_6 = Opcodes.V1_6;

    private UpgradeClassFiles() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            throw new IllegalArgumentException("usage: UpgradeClassFiles JAR PREFIX...");
        }
        Path jar = Path.of(args[0]);
        List<String> prefixes = Arrays.asList(args).subList(1, args.length);
        int upgraded = upgrade(jar, prefixes);
        System.out.println("upgraded " + upgraded + " class files under " + prefixes + " in " + jar.getFileName());
    }

    /** Rewrites the jar in place; returns how many class files were brought up to Java 8. */
    public static int upgrade(Path jar, List<String> prefixes) throws IOException {
        Path tmp = Files.createTempFile(jar.toAbsolutePath().getParent(), ".upgrade-", ".jar");
        boolean moved = false;
        try {
            int upgraded = rewrite(jar, tmp, prefixes);
            if (Files.getFileStore(jar).supportsFileAttributeView(PosixFileAttributeView.class)) {
                // a temporary file is made 0600: the jar keeps the mode it had, readable where it was
                Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(jar));
            }
            Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            moved = true;
            return upgraded;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static int rewrite(Path jar, Path tmp, List<String> prefixes) throws IOException {
        int upgraded = 0;
        try (URLClassLoader types =
                        new URLClassLoader(new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
                ZipInputStream in = new ZipInputStream(Files.newInputStream(jar));
                ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(tmp))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                byte[] bytes = in.readAllBytes();
                if (!e.isDirectory() && e.getName().endsWith(".class") && under(e.getName(), prefixes)) {
                    byte[] rewritten = upgrade(bytes, types, e.getName());
                    if (rewritten != bytes) {
                        upgraded++;
                        bytes = rewritten;
                    }
                }
                ZipEntry copy = new ZipEntry(e.getName());
                copy.setTime(e.getTime());
                out.putNextEntry(copy);
                out.write(bytes);
                out.closeEntry();
            }
        }
        return upgraded;
    }

    /** The class file brought up to Java 8, or the same array when it is Java 6 or newer already. */
    static byte[] upgrade(byte[] classFile, ClassLoader types, String name) {
        ClassReader reader = new ClassReader(classFile);
        if (reader.readUnsignedShort(6) >= JAVA_6) {
            return classFile;
        }
        ClassWriter writer = new ClassWriter(ClassWriter.COMPUTE_FRAMES) {
            @Override
            protected ClassLoader getClassLoader() {
                return types; // the jar's own classes, for the common superclass of two types
            }
        };
        try {
            reader.accept(
                    new ClassVisitor(Opcodes.ASM9, writer) {
                        @Override
                        public void visit(
                                int version,
                                int access,
                                String className,
                                String signature,
                                String superName,
                                String[] interfaces) {
                            super.visit(Opcodes.V1_8, access, className, signature, superName, interfaces);
                        }
                    },
                    ClassReader.SKIP_FRAMES);
            return writer.toByteArray();
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot rewrite " + name + " as a Java 8 class file: " + e.getMessage(), e);
        }
    }

    private static boolean under(String name, List<String> prefixes) {
        return prefixes.stream().anyMatch(name::startsWith);
    }
}
