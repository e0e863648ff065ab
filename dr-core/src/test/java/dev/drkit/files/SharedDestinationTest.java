package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A files restore builds its tree by path under its destination: whoever may rename a directory
 * on the way could swap in a link mid-restore and send the files (written as root, often)
 * wherever it points; a review showed it overwrite a file outside the destination. Such
 * destinations are refused unless the host says it trusts those users.
 */
class SharedDestinationTest {
    @TempDir
    Path dir;

    private DrKit kit;
    private String id;

    @BeforeEach
    void backUp() throws Exception {
        Path src = Files.createDirectories(dir.resolve("src"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        id = kit.backup(TargetSpec.files("config", src.toString())).id();
    }

    private RestoreRequest into(Path to, boolean shared) {
        Settings.Builder s = Settings.builder().set("to", to.toString());
        if (shared) {
            s.set("shared-destination", "true");
        }
        return new RestoreRequest("config", id, s.build(), false);
    }

    private static void requireRoot(String why) {
        CiRequirement.require("root".equals(System.getProperty("user.name")), why);
    }

    private static Path mode(Path p, int mode) throws Exception {
        Files.setAttribute(p, "unix:mode", mode);
        return p;
    }

    @Test
    void aDestinationUnderADirectoryOthersMayWriteIsRefusedUnlessShared() throws Exception {
        Path shared = mode(Files.createDirectories(dir.resolve("shared")), 0777);
        Path deep = Files.createDirectories(shared.resolve("team/app")); // below it: still reachable through it

        assertThatThrownBy(() -> kit.restore(into(deep.resolve("out"), false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(shared + " may be written by every user (mode 777, without the sticky bit)")
                .hasMessageContaining("'shared-destination'");
        assertThat(deep.resolve("out")).doesNotExist();

        kit.restore(into(deep.resolve("out"), true));
        assertThat(deep.resolve("out")
                        .resolve(dir.resolve("src/app.conf").toString().substring(1)))
                .hasContent("x=1");
    }

    @Test
    void aGroupWritableDestinationIsRefusedAndAStickyOneIsNot() throws Exception {
        requireRoot("only root can give a directory another group");
        Path group = mode(Files.createDirectories(dir.resolve("group")), 0770);
        Files.setAttribute(group, "unix:gid", 65534); // nogroup: user nobody's primary group
        assertThatThrownBy(() -> kit.restore(into(group, false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(group + " may be written by its group");

        Path sticky = mode(Files.createDirectories(dir.resolve("sticky")), 01777); // as /tmp
        kit.restore(into(sticky.resolve("out"), false));
        assertThat(sticky.resolve("out")).isDirectory();
    }

    /**
     * Debian and Ubuntu give each user a group of its own and a umask of 002, so a user's
     * directories are group-writable by that group alone: no other user can write there.
     */
    @Test
    void aDirectoryWritableByItsOwnersPrivateGroupIsNotRefused() throws Exception {
        requireRoot("root's group here is root's alone");
        Path own = mode(Files.createDirectories(dir.resolve("own")), 0775);
        Files.setAttribute(own, "unix:gid", 0);
        kit.restore(into(own.resolve("out"), false));
        assertThat(own.resolve("out")).isDirectory();
    }

    @Test
    void aLinkOnTheWayIsFollowedToWhatItReaches() throws Exception {
        Path shared = mode(Files.createDirectories(dir.resolve("shared")), 0777);
        Path target = Files.createDirectories(shared.resolve("real"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);

        assertThatThrownBy(() -> kit.restore(into(link.resolve("out"), false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(shared + " may be written by every user");
    }

    @Test
    void aLinkReachedThroughALinkInADirectoryOthersMayWriteIsRefused() throws Exception {
        Path shared = mode(Files.createDirectories(dir.resolve("shared")), 0777);
        Path real = Files.createDirectories(dir.resolve("real")); // private, as every directory it resolves to
        Files.createSymbolicLink(shared.resolve("hop"), real); // any user may point this one elsewhere
        Path link = Files.createSymbolicLink(dir.resolve("link"), shared.resolve("hop"));

        assertThatThrownBy(() -> kit.restore(into(link.resolve("out"), false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(shared + " may be written by every user");
        assertThat(real.resolve("out")).doesNotExist();
    }

    @Test
    void directoriesToBeMadeInAStickyDirectoryAreRefused() throws Exception {
        // another user may make sticky/team first, after the check: his, so he may swap what the restore makes in it
        Path sticky = mode(Files.createDirectories(dir.resolve("sticky")), 01777);

        assertThatThrownBy(() -> kit.restore(into(sticky.resolve("team/out"), false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(sticky.resolve("team") + " does not exist");
        assertThat(sticky.resolve("team")).doesNotExist();
    }

    @Test
    void aDirectoryOfAnotherUserIsRefused() throws Exception {
        requireRoot("only root can give a directory away");
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.setAttribute(home, "unix:uid", 65534);

        assertThatThrownBy(() -> kit.restore(into(home.resolve("restored"), false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(home + " belongs to another user (uid 65534)");
        assertThat(home.resolve("restored")).doesNotExist();
    }

    @Test
    void aPrivateDestinationRestoresAsBefore() throws Exception {
        kit.restore(RestoreRequest.files("config", id, dir.resolve("private")));
        assertThat(dir.resolve("private")).isDirectory();
    }
}
