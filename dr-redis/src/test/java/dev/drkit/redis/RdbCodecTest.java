package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RdbCodecTest {

    @Test
    void crc64MatchesRedisCheckValue() {
        byte[] b = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertThat(Crc64.of(b, 0, b.length)).isEqualTo(0xe9c6d914c4b8d9caL);
    }

    @Test
    void crc64SlicedEqualsBytewise() {
        byte[] b = new byte[1000];
        new Random(7).nextBytes(b);
        long whole = Crc64.of(b, 0, b.length);
        long pieces = 0;
        for (int off = 0; off < b.length; off += 13) {
            pieces = Crc64.update(pieces, b, off, Math.min(13, b.length - off));
        }
        assertThat(pieces).isEqualTo(whole);
    }

    @Test
    void crc64SlicedEqualsBitwiseAtEveryAlignmentAndLength() {
        byte[] b = new byte[1200];
        Random random = new Random(19);
        random.nextBytes(b);
        for (int off = 0; off < 24; off++) {
            for (int len = 0; off + len <= b.length; len += len < 300 ? 1 : 37) {
                long seed = random.nextLong();
                assertThat(Crc64.update(seed, b, off, len))
                        .as("CRC-64 of %d bytes from offset %d", len, off)
                        .isEqualTo(Crc64.bitwise(seed, b, off, len));
            }
        }
    }

    @Test
    void crc64OfALargeBufferInUnevenPiecesEqualsBitwise() {
        byte[] b = new byte[1 << 20];
        Random random = new Random(64);
        random.nextBytes(b);
        long pieces = 0;
        for (int off = 0; off < b.length; ) {
            int len = Math.min(random.nextInt(70_000), b.length - off);
            pieces = Crc64.update(pieces, b, off, len);
            off += len;
        }
        assertThat(pieces).isEqualTo(Crc64.bitwise(0, b, 0, b.length));
        assertThatThrownBy(() -> Crc64.update(0, b, b.length - 4, 5)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    private static byte[] sampleRdb() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (RdbWriter w = new RdbWriter(out, 10, Map.of("redis-ver", "7.0.15"))) {
            byte[] big = new byte[20_000];
            Arrays.fill(big, (byte) 'x');
            w.entry(0, "a".getBytes(), 0, -1, str("hello"), 0, str("hello").length);
            w.entry(0, "profile:1".getBytes(), 0, 4_000_000_000_000L, str("p1"), 0, str("p1").length);
            w.entry(3, "big".getBytes(), 0, -1, withLength(big), 0, withLength(big).length);
        }
        return out.toByteArray();
    }

    private static byte[] str(String s) {
        return withLength(s.getBytes(StandardCharsets.UTF_8));
    }

    /** A plain RDB string: 6-bit, 14-bit or 32-bit length, then the bytes. */
    private static byte[] withLength(byte[] b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        if (b.length < 64) {
            o.write(b.length);
        } else if (b.length < 16384) {
            o.write(0x40 | (b.length >> 8));
            o.write(b.length & 0xFF);
        } else {
            o.write(0x80);
            o.write(b.length >>> 24);
            o.write(b.length >>> 16);
            o.write(b.length >>> 8);
            o.write(b.length);
        }
        o.writeBytes(b);
        return o.toByteArray();
    }

    @Test
    void writtenRdbParsesWithKeysExpiriesAndValidChecksum() throws Exception {
        byte[] rdb = sampleRdb();
        List<String> keys = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        RdbParser.Summary s = new RdbParser(new ByteArrayInputStream(rdb), copy, "test", true, true)
                .parse((db, key, type, expireAt, value) -> {
                    keys.add(db + ":" + new String(key, StandardCharsets.UTF_8) + ":" + expireAt);
                    values.add(value);
                });
        assertThat(s.version).isEqualTo(10);
        assertThat(s.checksum).isEqualTo(RdbParser.Checksum.VALID);
        assertThat(s.keys).isEqualTo(3);
        assertThat(s.expires).isEqualTo(1);
        assertThat(s.keysPerDb).containsEntry(0, 2L).containsEntry(3, 1L);
        assertThat(s.aux).containsEntry("redis-ver", "7.0.15");
        assertThat(s.bytes).isEqualTo(rdb.length);
        assertThat(keys).containsExactly("0:a:-1", "0:profile:1:4000000000000", "3:big:-1");
        assertThat(values.get(0)).isEqualTo(str("hello"));
        assertThat(values.get(2)).hasSize(20_005);
        assertThat(copy.toByteArray()).isEqualTo(rdb);
    }

    /**
     * Thousands of records, database switches and expiries at every position relative to the
     * parser's batches of records, read through a stream that hands out a few bytes at a time:
     * every key keeps its database and its own expiry, and the counts, the copy and the CRC-64
     * come out as for the file read whole.
     */
    @Test
    void manyRecordsAcrossBatchesAndShortReadsKeepDatabasesExpiriesAndCounts() throws Exception {
        RdbBytes b = RdbBytes.redis(10).aux("redis-ver", "7.0.15");
        List<String> expected = new ArrayList<>();
        Map<Integer, Long> perDb = new TreeMap<>();
        int db = 0;
        long expires = 0;
        for (int i = 0; i < 3000; i++) {
            if (i % 97 == 0) {
                db = (i / 97) % 5;
                b.selectDb(db).op(RdbParser.OP_RESIZEDB).length(10).length(3);
            }
            long at = i % 7 == 0 ? 1_700_000_000_000L + i : -1;
            if (at >= 0) {
                b.expireMs(at);
                expires++;
            }
            b.op(0).string("key:" + i).string("v".repeat(i % 300));
            expected.add(db + ":key:" + i + ":" + at);
            perDb.merge(db, 1L, Long::sum);
        }
        byte[] rdb = b.eof();
        InputStream trickle = new ByteArrayInputStream(rdb) {
            @Override
            public synchronized int read(byte[] buf, int off, int len) {
                return super.read(buf, off, Math.min(len, 1 + pos % 61));
            }
        };
        List<String> keys = new ArrayList<>();
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        RdbParser.Summary s = new RdbParser(trickle, copy, "test", true, false)
                .parse((d, key, type, expireAt, value) ->
                        keys.add(d + ":" + new String(key, StandardCharsets.UTF_8) + ":" + expireAt));
        assertThat(keys).containsExactlyElementsOf(expected);
        assertThat(s.keys).isEqualTo(3000);
        assertThat(s.expires).isEqualTo(expires);
        assertThat(s.keysPerDb).isEqualTo(perDb);
        assertThat(s.checksum).isEqualTo(RdbParser.Checksum.VALID);
        assertThat(s.computedCrc).isEqualTo(Crc64.bitwise(0, rdb, 0, rdb.length - 8));
        assertThat(s.bytes).isEqualTo(rdb.length);
        assertThat(copy.toByteArray()).isEqualTo(rdb);
    }

    @Test
    void decimalLengthOfIntegerEncodedStringsMatchesTheirText() {
        int[] edges = {
            0,
            1,
            -1,
            9,
            10,
            -9,
            -10,
            99,
            100,
            127,
            -128,
            32767,
            -32768,
            999_999_999,
            1_000_000_000,
            Integer.MAX_VALUE,
            Integer.MIN_VALUE,
            -1_000_000_000
        };
        for (int v : edges) {
            assertThat(RdbParser.decimalLength(v))
                    .as("decimal length of %d", v)
                    .isEqualTo(Integer.toString(v).length());
        }
        Random random = new Random(10);
        for (int i = 0; i < 10_000; i++) {
            int v = random.nextInt() >> random.nextInt(32);
            assertThat(RdbParser.decimalLength(v))
                    .as("decimal length of %d", v)
                    .isEqualTo(Integer.toString(v).length());
        }
    }

    @Test
    void flippedByteFailsTheChecksum() throws Exception {
        byte[] rdb = sampleRdb();
        rdb[rdb.length - 200] ^= 1; // inside the big value: the structure still holds
        RdbParser.Summary s = new RdbParser(new ByteArrayInputStream(rdb), null, "test", false, false).parse(null);
        assertThat(s.checksum).isEqualTo(RdbParser.Checksum.MISMATCH);
    }

    @Test
    void zeroTrailerIsReportedAsAbsentNotValid() throws Exception {
        byte[] rdb = sampleRdb();
        Arrays.fill(rdb, rdb.length - 8, rdb.length, (byte) 0);
        RdbParser.Summary s = new RdbParser(new ByteArrayInputStream(rdb), null, "test", false, false).parse(null);
        assertThat(s.checksum).isEqualTo(RdbParser.Checksum.ABSENT);
    }

    @Test
    void truncatedAndForeignFilesAreCorrupt() throws Exception {
        byte[] rdb = sampleRdb();
        byte[] cut = Arrays.copyOf(rdb, rdb.length / 2);
        assertThatThrownBy(
                        () -> new RdbParser(new ByteArrayInputStream(cut), null, "dump.rdb", false, false).parse(null))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("dump.rdb is truncated");
        byte[] foreign = "PK\u0003\u0004 not an rdb at all".getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> new RdbParser(new ByteArrayInputStream(foreign), null, "x", false, false).parse(null))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("not an RDB file");
        byte[] future = rdb.clone();
        future[5] = '0';
        future[6] = '0';
        future[7] = '9';
        future[8] = '9';
        assertThatThrownBy(() -> new RdbParser(new ByteArrayInputStream(future), null, "x", false, false).parse(null))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("RDB version 99");
    }

    @Test
    void lzfDecompressesLiteralsAndBackReferences() {
        // "abcabcabc": literal run of 3, then a back reference of length 6 at distance 3
        byte[] compressed = {2, 'a', 'b', 'c', (byte) ((4 << 5) | 0), 2};
        assertThat(new String(Lzf.decompress(compressed, 9, "t"), StandardCharsets.US_ASCII))
                .isEqualTo("abcabcabc");
        assertThatThrownBy(() -> Lzf.decompress(compressed, 10, "dump.rdb")).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void versionTableNamesWhatLoadsWhat() {
        assertThat(RdbVersions.newestLoadable("7.0.15")).isEqualTo(10);
        assertThat(RdbVersions.newestLoadable("6.2.11")).isEqualTo(9);
        assertThat(RdbVersions.newestLoadable("7.2.4")).isEqualTo(11);
        assertThat(RdbVersions.newestLoadable("7.4.2")).isEqualTo(12);
        assertThat(RdbVersions.newestLoadable("8.0.1")).isEqualTo(12);
        assertThat(RdbVersions.newestLoadable("8.2.3")).isEqualTo(12);
        assertThat(RdbVersions.newestLoadable("8.4.0")).isEqualTo(12);
        assertThat(RdbVersions.newestLoadable("8.6.1")).isEqualTo(13);
        assertThat(RdbVersions.newestLoadable("8.8.0")).isEqualTo(14);
        assertThat(RdbVersions.oldestServerFor(10)).isEqualTo("Redis 7.0");
        assertThat(RdbVersions.oldestServerFor(9)).isEqualTo("Redis 5.0");
        assertThat(RdbVersions.oldestServerFor(12)).isEqualTo("Redis 7.4");
        assertThat(RdbVersions.oldestServerFor(14)).isEqualTo("Redis 8.8");
        assertThat(RdbVersions.oldestServerFor(80)).isEqualTo("Valkey 9.0");
    }

    @Test
    void valkeyLoadsRedisFilesUpToElevenAndItsOwnButNotRedisSevenFour() {
        String valkey9 = RdbVersions.serverVersion(Map.of("redis_version", "7.2.4", "valkey_version", "9.0.1"));
        assertThat(valkey9).isEqualTo("valkey 9.0.1");
        assertThat(RdbVersions.label(valkey9)).isEqualTo("Valkey 9.0.1");
        assertThat(RdbVersions.serverVersion(Map.of("redis_version", "7.4.2"))).isEqualTo("7.4.2");
        assertThat(RdbVersions.loads(valkey9, 11)).isTrue();
        assertThat(RdbVersions.loads(valkey9, 80)).isTrue();
        assertThat(RdbVersions.loads(valkey9, 12)).isFalse();
        assertThat(RdbVersions.loads("valkey 8.1.1", 11)).isTrue();
        assertThat(RdbVersions.loads("valkey 8.1.1", 80)).isFalse();
        assertThat(RdbVersions.loads("8.8.0", 80)).isFalse();
        assertThat(RdbVersions.loads("8.8.0", 14)).isTrue();
        assertThatThrownBy(() -> RdbVersions.requireLoadable(12, valkey9, "valkey.example:6379"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("RDB version 12")
                .hasMessageContaining("Valkey does not load")
                .hasMessageContaining("Redis 7.4 or newer")
                .hasMessageContaining("valkey.example:6379");
        assertThatThrownBy(() -> RdbVersions.requireLoadable(80, "7.4.2", "redis-server 7.4.2"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("Valkey 9.0 or newer")
                .hasMessageContaining("up to 12");
        RdbVersions.requireLoadable(12, "8.0.1", "redis 8");
    }

    @Test
    void dumpPayloadCarriesVersionAndChecksum() {
        byte[] p = RdbVersions.dumpPayload(0, str("v"), 10);
        assertThat(p).hasSize(1 + 2 + 10);
        assertThat(p[3]).isEqualTo((byte) 10);
        long crc = 0;
        for (int i = 0; i < 8; i++) {
            crc |= (p[5 + i] & 0xFFL) << (8 * i);
        }
        assertThat(crc).isEqualTo(Crc64.of(p, 0, 5));
    }

    @Test
    void keyPatternsFollowRedisGlobs() {
        assertThat(KeyPattern.of("*")).isNull();
        KeyPattern p = KeyPattern.of("profile:*");
        assertThat(p.matches("profile:42".getBytes())).isTrue();
        assertThat(p.matches("session:42".getBytes())).isFalse();
        KeyPattern q = KeyPattern.of("user:[a-c]?\\*");
        assertThat(q.matches("user:bx*".getBytes())).isTrue();
        assertThat(q.matches("user:dx*".getBytes())).isFalse();
        assertThat(q.matches("user:bxy".getBytes())).isFalse();
        assertThat(KeyPattern.of("a.b").matches("axb".getBytes())).isFalse();
        assertThat(KeyPattern.of("[^0-9]*").matches("9x".getBytes())).isFalse();
    }
}
