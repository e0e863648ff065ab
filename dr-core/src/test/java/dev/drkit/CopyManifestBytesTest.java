package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.support.Json;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy checks the artifacts against the manifest it read, and wrote the destination's manifest
 * by reading the source again, unchecked: a source that gives other bytes the second time (a
 * writer replacing the manifest meanwhile, an S3 server answering with another version) put a
 * manifest nothing verified into the destination. The bytes are read once and checked against
 * the manifest the copy used; other bytes fail the copy.
 */
class CopyManifestBytesTest {
    @TempDir
    Path dir;

    @Test
    void theDestinationGetsTheManifestTheCopyVerified() throws Exception {
        Path data = Files.createDirectories(dir.resolve("etc/app"));
        Files.writeString(data.resolve("a.conf"), "a=1\n");
        String id;
        try (DrKit local =
                DrKit.builder().repository(dir.resolve("local").toString()).build()) {
            id = local.backup(TargetSpec.files("config", data.toString())).id();
        }
        String folder = "backups/config/" + id + "/";
        byte[] real = Files.readAllBytes(dir.resolve("local/" + folder + "manifest.json"));
        ObjectNode tree = (ObjectNode) Json.mapper().readTree(real);
        ((ObjectNode) tree.get("metadata")).putArray("paths").add("/forged/by/the/source");
        byte[] forged = Json.write(tree);
        byte[] forgedSum = ManifestCodec.checksumFile(forged, "manifest.json");

        FileStorageBackend files = new FileStorageBackend(dir.resolve("local"));
        ForwardingStorage source = new ForwardingStorage(files) {
            volatile boolean copying;

            @Override
            public List<ObjectInfo> list(String prefix) throws IOException {
                if (prefix.equals(folder)) {
                    copying = true; // copyFrom lists the backup's folder once the manifest is verified
                }
                return super.list(prefix);
            }

            @Override
            public InputStream open(String key, long offset) throws IOException {
                if (copying && key.equals(folder + "manifest.json")) {
                    return new ByteArrayInputStream(forged);
                }
                if (copying && key.equals(folder + "manifest.json.sha256")) {
                    return new ByteArrayInputStream(forgedSum);
                }
                return super.open(key, offset);
            }
        };
        FileStorageBackend offsite = new FileStorageBackend(dir.resolve("offsite"));
        try (DrKit kit = DrKit.builder().storage(source).build()) {
            assertThatThrownBy(() -> kit.copy("config", id, false, offsite))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("changed while the backup was copied; copy again");
        }
        assertThat(dir.resolve("offsite/" + folder + "manifest.json"))
                .as("no manifest the copy did not verify")
                .doesNotExist();
        try (DrKit kit = DrKit.builder().storage(files).build()) {
            kit.copy("config", id, false, offsite); // the source as it is: copied again, whole
        }
        assertThat(new String(Files.readAllBytes(dir.resolve("offsite/" + folder + "manifest.json"))))
                .as("the manifest written to the destination")
                .isEqualTo(new String(real));
    }
}
