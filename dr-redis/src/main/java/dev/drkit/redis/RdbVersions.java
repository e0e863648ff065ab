package dev.drkit.redis;

/**
 * Which RDB versions which Redis versions write and load: a server loads files up to the
 * version it writes itself (2.6: 6, 3.2: 7, 4.0: 8, 5.0: 9, 7.0: 10, 7.2: 11, 7.4 and 8.x: 12).
 */
final class RdbVersions {
    private static final int[][] TABLE = {
        // major, minor, rdb version written (and newest loaded)
        {7, 4, 12}, {7, 2, 11}, {7, 0, 10}, {5, 0, 9}, {4, 0, 8}, {3, 2, 7}, {2, 6, 6}, {2, 4, 4}, {0, 0, 3},
    };

    private RdbVersions() {}

    /** The newest RDB version a server of this version ({@code 7.0.15}) loads. */
    static int newestLoadable(String redisVersion) {
        String[] p = redisVersion.split("\\.");
        int major = Integer.parseInt(p[0]);
        int minor = p.length > 1 ? Integer.parseInt(p[1].replaceAll("\\D.*", "")) : 0;
        for (int[] row : TABLE) {
            if (major > row[0] || (major == row[0] && minor >= row[1])) {
                return row[2];
            }
        }
        return 3;
    }

    /** The oldest Redis release that loads this RDB version, e.g. {@code 7.0}. */
    static String oldestRedisFor(int rdbVersion) {
        String oldest = "7.4";
        for (int[] row : TABLE) {
            if (row[2] >= rdbVersion) {
                oldest = row[0] + "." + row[1];
            }
        }
        return oldest;
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
}
