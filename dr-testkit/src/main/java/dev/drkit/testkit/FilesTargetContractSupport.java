package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;

/**
 * The {@link BackupTargetContract} for the {@code files} target: a tree with nested
 * directories, a 2 MB binary, a 0600 secret, an empty directory and a symlink. Extend it to
 * run the contract with other settings (encryption, compression) via {@link #configure}.
 */
public class FilesTargetContractSupport extends BackupTargetContract {
    private Path source;

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        source = work.resolve("src/app");
        Files.createDirectories(source.resolve("conf.d/empty"));
        Files.writeString(source.resolve("conf.d/site.conf"), "server { listen 80; }\n");
        byte[] blob = new byte[2_000_000];
        new Random(5).nextBytes(blob);
        Files.write(source.resolve("blob.bin"), blob);
        Path secret = Files.writeString(source.resolve(".env.production"), "DB_PASSWORD=hunter2\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Files.createSymbolicLink(source.resolve("current.conf"), Path.of("conf.d/site.conf"));
        return TargetSpec.files("config", source.toString());
    }

    @Override
    protected UnreachableSource unreachableSource() {
        String missing = work.resolve("no-such-directory").toString();
        return new UnreachableSource(TargetSpec.files("config", missing), missing);
    }

    @Override
    protected Settings restoreOptions(String destination) {
        return Settings.builder().set("to", destination).build();
    }

    private Path restored(String destination) {
        return Path.of(destination).resolve(source.toString().substring(1));
    }

    @Override
    protected void assertRestored(String destination) throws Exception {
        Path r = restored(destination);
        assertThat(r.resolve("conf.d/site.conf")).hasSameTextualContentAs(source.resolve("conf.d/site.conf"));
        assertThat(Files.readAllBytes(r.resolve("blob.bin"))).isEqualTo(Files.readAllBytes(source.resolve("blob.bin")));
        assertThat(Files.isDirectory(r.resolve("conf.d/empty"))).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(r.resolve(".env.production"))))
                .isEqualTo("rw-------");
        assertThat(Files.isSymbolicLink(r.resolve("current.conf"))).isTrue();
        assertThat(Files.readSymbolicLink(r.resolve("current.conf"))).isEqualTo(Path.of("conf.d/site.conf"));
        assertThat(Files.getLastModifiedTime(r.resolve("blob.bin")).toMillis() / 1000)
                .isEqualTo(Files.getLastModifiedTime(source.resolve("blob.bin")).toMillis() / 1000);
    }

    @Override
    protected void occupy(String destination) throws Exception {
        Files.createDirectories(Path.of(destination));
        Files.writeString(Path.of(destination, "live.txt"), "live data", StandardCharsets.UTF_8);
    }

    @Override
    protected void assertOccupiedUntouched(String destination) throws Exception {
        try (var s = Files.list(Path.of(destination))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("live.txt");
        }
        assertThat(Files.readString(Path.of(destination, "live.txt"))).isEqualTo("live data");
    }

    @Override
    protected void assertNothingRestored(String destination) throws Exception {
        Path d = Path.of(destination);
        if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            try (var s = Files.list(d)) {
                assertThat(s).isEmpty();
            }
        }
        try (var s = Files.list(d.getParent())) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("drkit-restore"));
        }
    }
}
