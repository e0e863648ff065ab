package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class AclSnapshotTest {
    private static List<AclSnapshot.User> parse(String text) {
        return AclSnapshot.parse(text.getBytes(StandardCharsets.UTF_8), "acl.txt");
    }

    @Test
    void eachLineIsAUserWhoseSelectorsStayWhole() {
        String hash = "#" + "a".repeat(64);
        List<AclSnapshot.User> users = parse("user default on nopass sanitize-payload ~* &* +@all\n" + "user app on "
                + hash + " ~cache:* resetchannels -@all +get (~log:* &feed +xadd +xread)\n");

        assertThat(users).extracting(AclSnapshot.User::name).containsExactly("default", "app");
        assertThat(users.get(1).rules())
                .containsExactly(
                        "on", hash, "~cache:*", "resetchannels", "-@all", "+get", "(~log:* &feed +xadd +xread)");
        assertThat(users.get(1).line()).startsWith("user app on #aaaa");
        assertThat(parse("")).isEmpty();
    }

    @Test
    void anythingButAnAclListingIsRejected() {
        assertThatThrownBy(() -> parse("user app on (~x +get\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("selector without its ')'");
        assertThatThrownBy(() -> parse("role app\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("line 1 does not start with 'user NAME'");
        assertThatThrownBy(() -> parse("user a on\nuser a off\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("repeats user 'a'");
        assertThatThrownBy(() -> parse("user a on\r\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("white space other than a space");
        assertThatThrownBy(() -> parse("user a on ~a\tb\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("white space other than a space");
        assertThatThrownBy(() -> parse("user a on ~a\0b\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("a NUL");
        assertThatThrownBy(() -> parse("user a on  +get\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("empty rule");
        assertThatThrownBy(() -> AclSnapshot.parse(new byte[] {'u', (byte) 0xff}, "acl.txt"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("not UTF-8");
    }

    /**
     * Redis takes control characters other than white space and NUL in user names and key
     * patterns (ACL SETUSER u on ~a\x01b), and ACL LIST prints them as they are. Such a listing
     * was backed up and counted, then refused whole at the restore ("holds a control character"):
     * none of the backup's users could be restored. They are now read as Redis wrote them, and a
     * name goes into a message with its control characters shown as '?'.
     */
    @Test
    void controlCharactersRedisTakesInNamesAndPatternsAreReadAsWritten() {
        List<AclSnapshot.User> users =
                parse("user u on ~a\u0001b resetchannels -@all\n" + "user v\u001b[2J on ~a\u007fb -@all\n");
        assertThat(users).extracting(AclSnapshot.User::name).containsExactly("u", "v\u001b[2J");
        assertThat(users.get(0).rules()).containsExactly("on", "~a\u0001b", "resetchannels", "-@all");
        assertThatThrownBy(() -> parse("user v\u001b[2J on\nuser v\u001b[2J off\n"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("repeats user 'v?[2J'");
    }

    @Test
    void forbiddenReplicationIsToldApartFromPassingFailures() {
        assertThat(SnapshotRefusedException.forbids("-ERR unknown command 'PSYNC', with args beginning with: ? -1"))
                .isTrue();
        assertThat(SnapshotRefusedException.forbids("-NOPERM this user has no permissions to run the 'psync' command"))
                .isTrue();
        assertThat(SnapshotRefusedException.forbids("-LOADING Redis is loading the dataset in memory"))
                .isFalse();
        assertThat(SnapshotRefusedException.forbids("-NOAUTH Authentication required."))
                .isFalse();
        assertThat(SnapshotRefusedException.forbids("+FULLRESYNC")).isFalse();
    }
}
