package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.SideFiles;
import dev.drkit.spi.support.TarEntryReader;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ACL users of a server, as {@code ACL LIST} gives them: one line per user, secrets as the
 * server stores them ({@code #<sha256>}, never in clear), which is also the {@code aclfile}
 * format. Backups store them as artifact {@value #ARTIFACT}; restores recreate them with
 * {@code ACL SETUSER <name> <rules>} on request (restore setting {@code acl-users}) or write
 * them as {@value #ACL_FILE} for a stopped server. Users that exist on the destination
 * ({@code default} always does) are kept unless the restore is forced. Stateless.
 */
final class AclSnapshot {
    static final String ARTIFACT = "acl.txt";
    static final String ACL_FILE = "users.acl";
    private static final Logger LOG = LoggerFactory.getLogger(AclSnapshot.class);
    private static final int MAX_BYTES = 16 << 20;
    private static final int MAX_USERS = 1_000_000;

    /** One user: its name, its rules as {@code ACL SETUSER} takes them, and the line as listed. */
    record User(String name, List<String> rules, String line) {}

    /** What {@code ACL LIST} gave: the lines, or why there are none. */
    record Listing(List<String> lines, String unavailable) {}

    private AclSnapshot() {}

    /** {@code ACL LIST} over a plain connection (a snapshot backup's, which has no Lettuce client). */
    static Listing list(RedisEndpoint endpoint) throws IOException {
        try (RespConnection c = RespConnection.open(endpoint)) {
            Object reply;
            try {
                reply = c.call("ACL", "LIST");
            } catch (RespConnection.RespError e) {
                return new Listing(List.of(), why(e.getMessage()));
            }
            List<String> lines = new ArrayList<>();
            if (reply instanceof List<?> items) {
                for (Object o : items) {
                    if (o instanceof String line) {
                        lines.add(line);
                    }
                }
            }
            return new Listing(lines, null);
        }
    }

    /** {@code ACL LIST} through a Lettuce connection (keys-mode backups). */
    static Listing list(StatefulRedisConnection<byte[], byte[]> conn) {
        try {
            return new Listing(conn.sync().aclList(), null);
        } catch (RedisException e) {
            return new Listing(List.of(), why(String.valueOf(e.getMessage())));
        }
    }

    private static String why(String error) {
        if (error.contains("unknown command")) {
            return "the server has no ACL command (Redis before 6.0, or ACL renamed away)";
        }
        if (error.startsWith("NOPERM")) {
            return "the user may not run ACL LIST (it needs +acl|list)";
        }
        return "ACL LIST failed: " + error;
    }

    /**
     * Stores the listing as artifact {@value #ARTIFACT} and its user count as metadata {@code aclUsers};
     * a listing the server refused becomes one warning, and the backup goes on.
     */
    static void store(BackupContext context, Listing listing, String server) throws IOException {
        if (listing.unavailable() != null) {
            context.warn("the ACL users of " + server + " are not in this backup: " + listing.unavailable()
                    + "; the keys are (setting 'backup-acl' false leaves users out without this warning)");
            return;
        }
        StringBuilder text = new StringBuilder();
        for (String line : listing.lines()) {
            text.append(line).append('\n');
        }
        try (OutputStream out = context.newArtifact(ARTIFACT)) {
            out.write(text.toString().getBytes(StandardCharsets.UTF_8));
        }
        context.metadata("aclUsers", listing.lines().size());
    }

    /**
     * The users of a backup, checked line by line: the artifact comes from a repository, so it is
     * parsed strictly and bounded in size.
     *
     * @throws ConfigException if the backup has no users
     * @throws CorruptDataException if the artifact is not an ACL listing
     */
    static List<User> read(RestoreContext context) throws IOException {
        requirePresent(context);
        String source = ARTIFACT + " of backup " + context.manifest().id();
        byte[] bytes;
        try (InputStream in = context.openArtifact(ARTIFACT)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        }
        if (bytes.length > MAX_BYTES) {
            throw new CorruptDataException(source + " is larger than " + (MAX_BYTES >> 20) + " MiB: not an ACL list");
        }
        return parse(bytes, source);
    }

    private static void requirePresent(RestoreContext context) {
        if (context.manifest().artifact(ARTIFACT).isEmpty()) {
            throw new ConfigException("backup " + context.manifest().id() + " holds no ACL users (setting "
                    + "'acl-users'): it was taken with setting 'backup-acl' false, from a server without ACL, or by "
                    + "a user that may not list them; restore without setting 'acl-users'");
        }
    }

    static List<User> parse(byte[] bytes, String source) {
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new CorruptDataException(source + " is not UTF-8 text");
        }
        List<User> users = new ArrayList<>();
        Set<String> names = new HashSet<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() && i == lines.length - 1) {
                break;
            }
            User u = user(line, source + " line " + (i + 1));
            if (!names.add(u.name()) || users.size() >= MAX_USERS) {
                throw new CorruptDataException(source + " line " + (i + 1) + " repeats user '" + printable(u.name())
                        + "' or exceeds " + MAX_USERS + " users");
            }
            users.add(u);
        }
        return users;
    }

    /** {@code user <name> <rule>...}, where a selector {@code (~k* +get)} is one rule. */
    private static User user(String line, String where) {
        // Redis refuses NUL and white space in names and patterns (other control characters it takes),
        // so its lines hold them only as the spaces between words
        if (line.chars().anyMatch(c -> c == 0 || c == '\t' || c == 0x0b || c == '\f' || c == '\r')) {
            throw new CorruptDataException(where + " holds a NUL or white space other than a space, which Redis "
                    + "does not write in a user's line: not an ACL user");
        }
        String[] words = line.split(" ", -1);
        if (words.length < 2 || !words[0].equals("user") || words[1].isEmpty()) {
            throw new CorruptDataException(where + " does not start with 'user NAME': not an ACL user");
        }
        List<String> rules = new ArrayList<>();
        StringBuilder selector = null;
        for (int i = 2; i < words.length; i++) {
            String w = words[i];
            if (selector != null) {
                selector.append(' ').append(w);
                if (w.endsWith(")")) {
                    rules.add(selector.toString());
                    selector = null;
                }
            } else if (w.startsWith("(") && !w.endsWith(")")) {
                selector = new StringBuilder(w);
            } else if (w.isEmpty()) {
                throw new CorruptDataException(where + " has an empty rule: not an ACL user");
            } else {
                rules.add(w);
            }
        }
        if (selector != null) {
            throw new CorruptDataException(where + " has a selector without its ')': not an ACL user");
        }
        return new User(words[1], List.copyOf(rules), line);
    }

    /** A user's name as it can go into a message: Redis takes control characters in a name. */
    private static String printable(String name) {
        return TarEntryReader.printable(name);
    }

    /** How an online restore of users went. */
    record Outcome(int created, int replaced, int unchanged, int kept) {}

    /**
     * Recreates the users on a live server: absent ones are created, existing ones that differ are
     * replaced only when forced, identical ones are left alone.
     *
     * @throws DrException if the server refuses ACL SETUSER (e.g. the restoring user lacks +acl)
     */
    static Outcome restore(
            StatefulRedisConnection<byte[], byte[]> conn, List<User> users, boolean force, RedisSession server) {
        Map<String, String> existing = new HashMap<>();
        try {
            for (String line : conn.sync().aclList()) {
                String[] words = line.split(" ", 3);
                if (words.length >= 2) {
                    existing.put(words[1], line);
                }
            }
        } catch (RedisException e) {
            throw refused(server, "ACL LIST", e);
        }
        List<String> clearing = new ArrayList<>(List.of("resetpass", "resetkeys", "resetchannels", "off", "-@all"));
        String version = RedisTarget.info(conn, "server").getOrDefault("redis_version", "0");
        if (version.matches("([7-9]|[1-9][0-9]+)\\..*")) {
            clearing.add("clearselectors"); // selectors came with Redis 7
        }
        int created = 0;
        int replaced = 0;
        int unchanged = 0;
        int kept = 0;
        for (User u : ownUserLast(conn, users)) {
            String current = existing.get(u.name());
            if (current != null && sameRules(current, u.line())) {
                unchanged++;
                continue;
            }
            if (current != null && !force) {
                kept++;
                continue;
            }
            CommandArgs<byte[], byte[]> args =
                    new CommandArgs<>(ByteArrayCodec.INSTANCE).add("SETUSER").add(u.name());
            if (current != null) {
                // what 'reset' does, but for its sanitize-payload flag, which the listing would not undo
                clearing.forEach(args::add);
            }
            u.rules().forEach(args::add);
            try {
                conn.sync().dispatch(CommandType.ACL, new StatusOutput<>(ByteArrayCodec.INSTANCE), args);
            } catch (RedisException e) {
                throw refused(server, "ACL SETUSER of user '" + printable(u.name()) + "'", e);
            }
            if (current == null) {
                created++;
            } else {
                replaced++;
            }
        }
        Outcome o = new Outcome(created, replaced, unchanged, kept);
        LOG.info(
                "ACL users restored into {}: {} created, {} replaced, {} already the same, {} kept (they exist "
                        + "and differ; RestoreRequest.force replaces them)",
                server,
                created,
                replaced,
                unchanged,
                kept);
        return o;
    }

    /**
     * The users with the one this connection is logged in as last: its new rules apply to this
     * connection at once, and rules without {@code +acl} would refuse every user after it.
     */
    private static List<User> ownUserLast(StatefulRedisConnection<byte[], byte[]> conn, List<User> users) {
        String me;
        try {
            me = conn.sync().aclWhoami();
        } catch (RedisException e) {
            return users; // a user that may not ask: the order as listed
        }
        List<User> ordered = new ArrayList<>(users);
        ordered.sort(Comparator.comparing(u -> u.name().equals(me)));
        return ordered;
    }

    /** Redis lists a user's command rules in an order of its own, which can differ between two processes. */
    private static boolean sameRules(String a, String b) {
        return Arrays.stream(a.split(" "))
                .sorted()
                .toList()
                .equals(Arrays.stream(b.split(" ")).sorted().toList());
    }

    private static DrException refused(RedisSession server, String what, RedisException e) {
        return new DrException(
                ErrorCode.TARGET,
                what + " on " + server + " failed: " + server.redact(String.valueOf(e.getMessage()))
                        + "; restoring users needs a user with +acl (or +@admin) on the destination");
    }

    /** Fails if {@value #ACL_FILE} exists in {@code dir} and the restore is not forced. */
    static void requireWritable(Path dir, boolean force) {
        Path file = dir.resolve(ACL_FILE);
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS) && !force) {
            throw new DestinationNotEmptyException(file + " already exists; restore into another directory, or "
                    + "with RestoreRequest.force to replace it");
        }
    }

    /**
     * Writes the users as {@value #ACL_FILE} (mode 0600) in {@code dir}, for a server started with
     * {@code aclfile}; an existing file is replaced only when forced.
     */
    static Path writeFile(Path dir, List<User> users, boolean force) throws IOException {
        requireWritable(dir, force);
        Path file = dir.resolve(ACL_FILE);
        SideFiles.removeAbandoned(file, "a restore");
        Path tmp = SideFiles.beside(file);
        StringBuilder text = new StringBuilder();
        users.forEach(u -> text.append(u.line()).append('\n'));
        try (FileChannel ch = FileChannel.open(
                tmp,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer buf = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        LOG.info("wrote {}: {} ACL users (load it with 'aclfile {}' in redis.conf)", file, users.size(), file);
        return file;
    }
}
