package dev.drkit.testkit;

import dev.drkit.TargetSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** The verifier contract over a small {@code files} backup: nested directories, a binary and a symlink. */
abstract class FilesVerifierContract extends VerifierContract {
    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        Path source = work.resolve("src/app");
        Files.createDirectories(source.resolve("conf.d/empty"));
        Files.writeString(source.resolve("conf.d/site.conf"), "server { listen 80; }\n");
        byte[] blob = new byte[200_000];
        new Random(5).nextBytes(blob);
        Files.write(source.resolve("blob.bin"), blob);
        Files.createSymbolicLink(source.resolve("current.conf"), Path.of("conf.d/site.conf"));
        return TargetSpec.files("config", source.toString());
    }
}
