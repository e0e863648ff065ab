package dev.drkit.postgres;

import dev.drkit.spi.support.PrivateScratch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scratch databases of logical restore tests, {@code drkit_verify_<host>_<pid>_<start>_<random>}:
 * the name says which process of which host made it (the host as 8 hex digits of a hash of its
 * name, the process by pid and start time in epoch milliseconds), so that a restore test can
 * drop the scratch databases that runs killed on this host left on the server (a copy of the
 * backed-up data each) before it makes its own. Databases of other hosts, and those of the
 * older {@code drkit_verify_<random>} form, are left alone: who made them cannot be told.
 */
final class ScratchDatabases {
    private static final Logger LOG = LoggerFactory.getLogger(ScratchDatabases.class);
    static final String PREFIX = "drkit_verify_";
    private static final Pattern NAME =
            Pattern.compile("drkit_verify_([0-9a-f]{8})_(\\d{1,10})_(\\d{1,15})_[0-9a-f]{6}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private ScratchDatabases() {}

    /** Who made a scratch database. */
    record Maker(String host, long pid, long startMillis) {}

    /** A new scratch database name for this process. */
    static String newName() {
        return name(host(), ProcessHandle.current().pid(), PrivateScratch.startMillis());
    }

    static String name(String host, long pid, long startMillis) {
        byte[] random = new byte[3];
        RANDOM.nextBytes(random);
        return PREFIX + host + "_" + pid + "_" + startMillis + "_"
                + HexFormat.of().formatHex(random);
    }

    /** Who made the scratch database {@code name}; empty for any other name. */
    static Optional<Maker> maker(String name) {
        Matcher m = NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Maker(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
    }

    /**
     * Drops the scratch databases made on this host by processes that are gone (best effort: a
     * failure is logged, the restore test goes on).
     *
     * @return the databases dropped
     */
    static List<String> dropLeftovers(PgConnection admin) {
        String host = host();
        List<String> dropped = new ArrayList<>();
        List<String> found = new ArrayList<>();
        try (Connection c = admin.open();
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT datname FROM pg_database WHERE datname LIKE 'drkit\\_verify\\_%'")) {
            while (rs.next()) {
                found.add(rs.getString(1));
            }
        } catch (SQLException e) {
            LOG.warn("could not list the scratch databases of earlier restore tests: {}", admin.redact(e.getMessage()));
            return dropped;
        }
        for (String name : found) {
            Optional<Maker> maker = maker(name);
            if (maker.isPresent()
                    && maker.get().host().equals(host)
                    && !PrivateScratch.alive(maker.get().pid(), maker.get().startMillis())) {
                if (PgSql.dropDatabaseQuietly(admin, name)) {
                    LOG.info(
                            "dropped scratch database {}: restore test process {} ended without dropping it",
                            name,
                            maker.get().pid());
                    dropped.add(name);
                }
            }
        }
        return dropped;
    }

    /** This host, as 8 hex digits of a CRC-32C of its name. */
    static String host() {
        String name = System.getenv().getOrDefault("HOSTNAME", "");
        try {
            Path kernel = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(kernel)) {
                name = Files.readString(kernel).strip();
            }
        } catch (IOException e) {
            // the environment's name, or none
        }
        CRC32C crc = new CRC32C();
        crc.update(name.getBytes(StandardCharsets.UTF_8));
        return String.format("%08x", crc.getValue());
    }
}
