package dev.drkit.redis;

import dev.drkit.ConfigException;
import java.util.Locale;
import java.util.Map;

/**
 * Which RDB versions which servers write and load. Redis writes {@code REDIS} and four digits:
 * 2.6: 6, 3.2: 7, 4.0: 8, 5.0: 9, 7.0: 10, 7.2: 11, 7.4 to 8.4: 12, 8.6: 13, 8.8: 14; a Redis
 * server loads every version up to its own. Valkey 7.2 to 8.1 write {@code REDIS0011}; Valkey 9
 * writes {@code VALKEY} and three digits (9.0 and 9.1: 80) and loads Redis files up to version
 * 11 and its own; the versions in between (12 to 79) are what Redis 7.4+ writes, which Valkey
 * refuses, as Redis refuses Valkey's.
 *
 * <p>A server is named by a version string: {@code 7.0.15} for Redis, {@code valkey 9.0.1} for
 * Valkey (see {@link #serverVersion(Map)}).
 */
final class RdbVersions {
    /** The first RDB version Valkey writes with its own magic. */
    static final int VALKEY_FIRST = 80;

    private static final int[][] REDIS = {
        // major, minor, rdb version written (and newest loaded)
        {8, 8, 14},
        {8, 6, 13},
        {7, 4, 12},
        {7, 2, 11},
        {7, 0, 10},
        {5, 0, 9},
        {4, 0, 8},
        {3, 2, 7},
        {2, 6, 6},
        {2, 4, 4},
        {0, 0, 3},
    };
    private static final int[][] VALKEY = {{9, 0, 80}, {7, 2, 11}};
    private static final String VALKEY_PREFIX = "valkey ";

    private RdbVersions() {}

    /**
     * The version string of a server from its {@code INFO server} fields: {@code valkey X.Y.Z}
     * when it reports {@code valkey_version} (Valkey also reports {@code redis_version:7.2.4}
     * for compatibility, which says nothing of what it loads), else {@code redis_version}.
     */
    static String serverVersion(Map<String, String> infoServer) {
        String valkey = infoServer.get("valkey_version");
        if (valkey != null && !valkey.isBlank()) {
            return VALKEY_PREFIX + valkey.trim();
        }
        return infoServer.getOrDefault("redis_version", "0.0.0");
    }

    /** A server version for people: {@code Redis 7.0.15}, {@code Valkey 9.0.1}. */
    static String label(String serverVersion) {
        return isValkey(serverVersion)
                ? "Valkey " + serverVersion.substring(VALKEY_PREFIX.length())
                : "Redis " + serverVersion;
    }

    /** Whether a server of this version ({@code 7.4.2}, {@code valkey 9.0.1}) loads this RDB version. */
    static boolean loads(String serverVersion, int rdbVersion) {
        int newest = newestLoadable(serverVersion);
        if (isValkey(serverVersion)) {
            return rdbVersion >= VALKEY_FIRST ? rdbVersion <= newest : rdbVersion <= Math.min(11, newest);
        }
        return rdbVersion <= newest;
    }

    /** The newest RDB version a server of this version ({@code 7.0.15}, {@code valkey 9.0.1}) writes and loads. */
    static int newestLoadable(String serverVersion) {
        boolean valkey = isValkey(serverVersion);
        String v = valkey ? serverVersion.substring(VALKEY_PREFIX.length()) : serverVersion;
        String[] p = v.trim().split("\\.");
        int major = number(p[0]);
        int minor = p.length > 1 ? number(p[1]) : 0;
        for (int[] row : valkey ? VALKEY : REDIS) {
            if (major > row[0] || (major == row[0] && minor >= row[1])) {
                return row[2];
            }
        }
        return 3;
    }

    /** Whether a server of this version has function libraries (Redis 7.0+, which writes RDB 10, and Valkey). */
    static boolean hasFunctions(String serverVersion) {
        return isValkey(serverVersion) || newestLoadable(serverVersion) >= 10;
    }

    /** The oldest server that loads this RDB version, e.g. {@code Redis 7.0} or {@code Valkey 9.0}. */
    static String oldestServerFor(int rdbVersion) {
        int[][] table = rdbVersion >= VALKEY_FIRST ? VALKEY : REDIS;
        String oldest = null;
        for (int[] row : table) {
            if (row[2] >= rdbVersion) {
                oldest = row[0] + "." + row[1];
            }
        }
        String name = rdbVersion >= VALKEY_FIRST ? "Valkey " : "Redis ";
        return oldest == null ? name + "newer than drkit knows" : name + oldest;
    }

    /**
     * Refuses a restore of an RDB of this version into a server that does not load it.
     *
     * @param server the server as named in messages
     * @throws ConfigException naming the server needed
     */
    static void requireLoadable(int rdbVersion, String serverVersion, String server) {
        if (loads(serverVersion, rdbVersion)) {
            return;
        }
        String needed = oldestServerFor(rdbVersion);
        String what = rdbVersion >= VALKEY_FIRST
                ? "Valkey's own format, which only Valkey 9+ loads"
                : rdbVersion >= 12
                        ? "a format of Redis 7.4 and newer, which Valkey does not load"
                        : "a format older servers do not load";
        throw new ConfigException("the backup is RDB version " + rdbVersion + " (" + what + "), which needs "
                + needed + " or newer; " + server + " does not load it (it loads RDB versions up to "
                + loadable(serverVersion) + "). Restore to a " + needed + "+ server");
    }

    /** Builds a DUMP payload: type, serialized value, RDB version and CRC-64, as RESTORE takes it. */
    static byte[] dumpPayload(int type, byte[] value, int rdbVersion) {
        byte[] p = new byte[1 + value.length + 10];
        p[0] = (byte) type;
        System.arraycopy(value, 0, p, 1, value.length);
        int v = 1 + value.length;
        p[v] = (byte) rdbVersion;
        p[v + 1] = (byte) (rdbVersion >>> 8);
        long crc = Crc64.of(p, 0, v + 2);
        for (int i = 0; i < 8; i++) {
            p[v + 2 + i] = (byte) (crc >>> (8 * i));
        }
        return p;
    }

    private static String loadable(String serverVersion) {
        int newest = newestLoadable(serverVersion);
        return newest >= VALKEY_FIRST ? "11, and its own " + newest : String.valueOf(newest);
    }

    private static boolean isValkey(String serverVersion) {
        return serverVersion.toLowerCase(Locale.ROOT).startsWith(VALKEY_PREFIX);
    }

    private static int number(String s) {
        String digits = s.replaceAll("\\D.*", "");
        return digits.isEmpty() ? 0 : Integer.parseInt(digits);
    }
}
