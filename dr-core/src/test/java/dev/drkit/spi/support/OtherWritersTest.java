package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which group-writable directories no other user may write: those of a user private group. */
class OtherWritersTest {
    @TempDir
    Path dir;

    @Test
    void aPrivateGroupHasNoOtherMemberAndIsNoOtherUsersPrimaryGroup() throws Exception {
        Path passwd = Files.writeString(
                dir.resolve("passwd"),
                "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n"
                        + "carol:x:1001:1000::/home/carol:/bin/sh\nalice:x:1002:1002::/home/alice:/bin/sh\n");
        Path group = Files.writeString(
                dir.resolve("group"), "root:x:0:\nstaff:x:1000:\nalice:x:1002:alice\ndev:x:1003:alice,bob\n");
        assertThat(OtherWriters.privateGroup(1002, 1002, passwd, group))
                .as("alice's own")
                .isTrue();
        assertThat(OtherWriters.privateGroup(0, 0, passwd, group))
                .as("root's own")
                .isTrue();
        assertThat(OtherWriters.privateGroup(1000, 1000, passwd, group))
                .as("carol's primary too")
                .isFalse();
        assertThat(OtherWriters.privateGroup(1003, 1002, passwd, group))
                .as("bob is a member")
                .isFalse();
        assertThat(OtherWriters.privateGroup(4242, 1002, passwd, group))
                .as("listed nowhere")
                .isFalse();
    }
}
