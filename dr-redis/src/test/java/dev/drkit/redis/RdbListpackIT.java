package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The listpack walker against listpacks a real server writes: every integer width and string
 * length encoding, as Redis puts them in a hash's DUMP payload, must come back as the values
 * HGETALL returns. (The hashes with field TTLs of Redis 7.4+ are listpacks of the same entries.)
 */
class RdbListpackIT {

    @Test
    void listpacksWrittenByRedisWalkBackToTheirValues() throws Exception {
        try (RedisServer server = RedisServer.builder()
                        .config("hash-max-listpack-value", "8192")
                        .config("rdbcompression", "yes")
                        .start();
                RedisClient client = RedisClient.create(RedisURI.create(server.host(), server.port()))) {
            try (StatefulRedisConnection<byte[], byte[]> conn = client.connect(ByteArrayCodec.INSTANCE)) {
                Map<String, String> fields = new LinkedHashMap<>();
                fields.put("zero", "0");
                fields.put("seven-bit", "100");
                fields.put("thirteen-bit", "-3000");
                fields.put("sixteen-bit", "30000");
                fields.put("twenty-four-bit", "-8000000");
                fields.put("thirty-two-bit", "2000000000");
                fields.put("sixty-four-bit", "-9000000000000");
                fields.put("six-bit-string", "x".repeat(63));
                fields.put("twelve-bit-string", "y".repeat(300));
                fields.put("thirty-two-bit-string", "z".repeat(5000));
                fields.put("not-a-number", "007");
                fields.forEach((f, v) -> conn.sync().hset(bytes("h"), bytes(f), bytes(v)));

                byte[] payload = conn.sync().dump(bytes("h"));
                assertThat(payload[0]).as("a listpack hash").isEqualTo((byte) 16);
                byte[] lp = rdbString(payload, 1);

                Map<String, String> walked = new LinkedHashMap<>();
                String[] field = new String[1];
                long n = Listpack.walk(lp, "the DUMP of h", (index, integer, value, b, off, len) -> {
                    String s = integer ? Long.toString(value) : new String(b, off, len, StandardCharsets.UTF_8);
                    if (index % 2 == 0) {
                        field[0] = s;
                    } else {
                        walked.put(field[0], s);
                    }
                });
                assertThat(n).isEqualTo(2L * fields.size());
                assertThat(walked).isEqualTo(fields);
            }
        }
    }

    /** An RDB string at {@code off}: a 6, 14 or 32-bit length and the bytes, or LZF-compressed. */
    private static byte[] rdbString(byte[] b, int off) {
        int first = b[off] & 0xFF;
        if (first == 0xC3) {
            int[] p = {off + 1};
            int compressed = (int) length(b, p);
            int plain = (int) length(b, p);
            byte[] data = Arrays.copyOfRange(b, p[0], p[0] + compressed);
            return Lzf.decompress(data, plain, "the DUMP of h");
        }
        int[] p = {off};
        int len = (int) length(b, p);
        return Arrays.copyOfRange(b, p[0], p[0] + len);
    }

    private static long length(byte[] b, int[] p) {
        int first = b[p[0]++] & 0xFF;
        return switch (first >> 6) {
            case 0 -> first & 0x3F;
            case 1 -> ((first & 0x3F) << 8) | (b[p[0]++] & 0xFF);
            default -> {
                long v = 0;
                for (int i = 0; i < 4; i++) {
                    v = (v << 8) | (b[p[0]++] & 0xFF);
                }
                yield v;
            }
        };
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
