package dev.drkit.examples.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/** Runs the built {@code drkit.jar} as a separate process, as a user would. */
final class CliProcess {
    static final Path JAR = Path.of("target", "drkit.jar").toAbsolutePath();

    private CliProcess() {}

    record Result(int exit, String out, String err) {
        String lastLine() {
            String[] lines = out.strip().split("\n");
            return lines[lines.length - 1].strip();
        }
    }

    /**
     * The arguments of a physical backup named {@code pg-main} of the cluster at {@code url} as
     * user postgres, plus {@code more}.
     */
    static String[] pgMainBackup(String url, Path passwordFile, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "backup",
                "postgres",
                "--name",
                "pg-main",
                "--url",
                url,
                "--user",
                "postgres",
                "--password-file",
                passwordFile.toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    static ProcessBuilder builder(Path repo, List<String> jvm, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvm);
        cmd.add("-jar");
        cmd.add(JAR.toString());
        if (repo != null) {
            cmd.add("--repo");
            cmd.add(repo.toString());
        }
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    static Result run(Path repo, String... args) throws IOException, InterruptedException {
        return run(repo, List.of(), args);
    }

    static Result run(Path repo, List<String> jvm, String... args) throws IOException, InterruptedException {
        return run(repo, jvm, Map.of(), args);
    }

    static Result run(Path repo, List<String> jvm, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("drkit-out", ".txt");
        Path err = Files.createTempFile("drkit-err", ".txt");
        try {
            ProcessBuilder pb = builder(repo, jvm, args);
            pb.environment().putAll(env);
            Process p =
                    pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("drkit " + String.join(" ", args) + " did not finish");
            }
            return new Result(
                    p.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Runs a shell pipeline, returning its stdout; fails on a non-zero exit. */
    static String sh(Path dir, String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-o", "pipefail", "-c", script)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new AssertionError("'" + script + "' failed with " + p.exitValue() + ":\n" + output);
        }
        return output;
    }

    /** Writes {@code size} bytes of seeded random data (incompressible, the same every run). */
    static void writeRandom(Path file, long size) throws IOException {
        SplittableRandom r = new SplittableRandom(42);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = size; left > 0; left -= buf.length) {
                for (int i = 0; i < buf.length; i += 8) {
                    long v = r.nextLong();
                    for (int b = 0; b < 8; b++) {
                        buf[i + b] = (byte) (v >>> (b * 8));
                    }
                }
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
        }
    }
}
