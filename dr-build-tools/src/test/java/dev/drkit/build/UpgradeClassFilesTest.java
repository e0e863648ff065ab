package dev.drkit.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import picocli.CommandLine;

class UpgradeClassFilesTest {
    @TempDir
    Path dir;

    @Test
    void picocliComesOutAsJava8ClassFilesThatVerifyLoadAndRun() throws Exception {
        Path jar = dir.resolve("cli.jar");
        Files.copy(
                Path.of(CommandLine.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI()),
                jar);
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        Map<String, byte[]> before = entries(jar);
        assertThat(major(before.get("picocli/CommandLine.class")))
                .as("picocli as shipped: Java 5 class files")
                .isLessThan(UpgradeClassFiles.JAVA_6);

        int upgraded = UpgradeClassFiles.upgrade(jar, List.of("picocli/"));

        Map<String, byte[]> after = entries(jar);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(jar)))
                .as("the jar keeps its mode (a temporary file is made 0600)")
                .isEqualTo("rw-r--r--");
        assertThat(after.keySet()).containsExactlyElementsOf(before.keySet());
        List<String> classes = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : after.entrySet()) {
            if (e.getKey().startsWith("picocli/") && e.getKey().endsWith(".class")) {
                assertThat(major(e.getValue())).as(e.getKey()).isEqualTo(Opcodes.V1_8);
                classes.add(e.getKey());
            } else {
                assertThat(e.getValue()).as(e.getKey() + " is left as it was").isEqualTo(before.get(e.getKey()));
            }
        }
        assertThat(upgraded).isEqualTo(classes.size()).isGreaterThan(100);

        // every class is verified (by the split verifier: no fallback for Java 8 class files) and initialised
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
            for (String c : classes) {
                String name = c.substring(0, c.length() - ".class".length()).replace('/', '.');
                assertThat(Class.forName(name, true, loader).getClassLoader()).isSameAs(loader);
            }
            // and picocli still parses a command line: the programmatic model, an option with a value
            Class<?> spec = loader.loadClass("picocli.CommandLine$Model$CommandSpec");
            Class<?> optionSpec = loader.loadClass("picocli.CommandLine$Model$OptionSpec");
            Object cmd = spec.getMethod("create").invoke(null);
            Object builder =
                    optionSpec.getMethod("builder", String[].class).invoke(null, (Object) new String[] {"--repo"});
            Method arity = builder.getClass().getMethod("arity", String.class);
            arity.setAccessible(true); // declared by a package-private superclass
            arity.invoke(builder, "1");
            Object option = builder.getClass().getMethod("build").invoke(builder);
            spec.getMethod("addOption", optionSpec).invoke(cmd, option);
            Object cli = loader.loadClass("picocli.CommandLine")
                    .getConstructor(Object.class)
                    .newInstance(cmd);
            Object parsed = cli.getClass()
                    .getMethod("parseArgs", String[].class)
                    .invoke(cli, (Object) new String[] {"--repo", "/r"});
            Method value = parsed.getClass().getMethod("matchedOptionValue", String.class, Object.class);
            assertThat(value.invoke(parsed, "--repo", null)).isEqualTo("/r");
        }

        assertThat(UpgradeClassFiles.upgrade(jar, List.of("picocli/")))
                .as("a second run finds nothing left to do")
                .isZero();
        assertThat(entries(jar)).containsOnlyKeys(after.keySet());
    }

    @Test
    void aClassThatCannotBeRewrittenFailsAndLeavesTheJarAsItWas() throws IOException {
        Path jar = dir.resolve("bad.jar");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new ZipEntry("old/Bad.class"));
            out.write(java5ClassWithJsr());
            out.closeEntry();
        }
        byte[] was = Files.readAllBytes(jar);

        assertThatThrownBy(() -> UpgradeClassFiles.upgrade(jar, List.of("old/")))
                .hasMessageContaining("old/Bad.class");
        assertThat(Files.readAllBytes(jar)).isEqualTo(was);
        try (var files = Files.list(dir)) {
            assertThat(files).as("no temporary jar left").containsExactly(jar);
        }
    }

    /** A Java 5 class whose method uses JSR, which cannot be given stack map frames. */
    private static byte[] java5ClassWithJsr() {
        ClassWriter w = new ClassWriter(0);
        w.visit(Opcodes.V1_5, Opcodes.ACC_PUBLIC, "old/Bad", null, "java/lang/Object", null);
        MethodVisitor m = w.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_STATIC, "f", "()V", null, null);
        m.visitCode();
        Label sub = new Label();
        m.visitJumpInsn(Opcodes.JSR, sub);
        m.visitInsn(Opcodes.RETURN);
        m.visitLabel(sub);
        m.visitVarInsn(Opcodes.ASTORE, 0);
        m.visitVarInsn(Opcodes.RET, 0);
        m.visitMaxs(1, 1);
        m.visitEnd();
        w.visitEnd();
        return w.toByteArray();
    }

    private static int major(byte[] classFile) {
        return ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
    }

    private static Map<String, byte[]> entries(Path jar) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            for (var e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                try (InputStream in = zip.getInputStream(entry)) {
                    entries.put(entry.getName(), in.readAllBytes());
                }
            }
        }
        return entries;
    }
}
