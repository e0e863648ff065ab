package dev.drkit.redis;

import static dev.drkit.redis.RdbEncodingsTest.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The streams of Redis 8.6 (type 26, with idempotent-producer state) and 8.8 (type 27, with each
 * consumer group's NACK zone) and the arrays of Redis 8.8 (type 28), on bytes built from the
 * layouts of Redis' {@code rdbSaveObject} and {@code rdbLoadObject}; and damaged input, which must
 * fail cleanly.
 */
class RdbStreamsAndArraysTest {
    private static final long MS = 1_771_945_454_291L;

    /** A stream node of two entries: master entry (count, deleted, fields, terminator), then the items. */
    private static byte[] streamNode() {
        return new RdbBytes.Lp()
                .integer(2)
                .integer(0)
                .integer(1)
                .str("n")
                .integer(0)
                .integer(2) // SAMEFIELDS
                .integer(0)
                .integer(0)
                .str("one")
                .integer(4)
                .integer(2)
                .integer(0)
                .integer(1)
                .str("two")
                .integer(4)
                .build();
    }

    /** Nodes and metadata of a type 19+ stream of two entries, up to the consumer groups. */
    private static RdbBytes streamHead(RdbBytes b) {
        return b.length(1)
                .string(RdbBytes.value().streamId(MS, 0).bytes())
                .string(streamNode())
                .length(2) // length
                .length(MS)
                .length(1) // last id
                .length(MS)
                .length(0) // first id
                .length(0)
                .length(0) // max deleted id
                .length(2); // entries added
    }

    /**
     * One group "workers" with {@code pending} entries in its PEL, the first owned by consumer
     * "c1"; with {@code nackZone}, the others are listed as NACKed (type 27).
     */
    private static RdbBytes group(RdbBytes b, int pending, boolean nackZone) {
        b.string("workers").length(MS).length(1).length(2); // name, last id, entries read
        b.length(pending);
        for (int i = 0; i < pending; i++) {
            b.streamId(MS, i).u64(MS + 10).length(1); // id, delivery time, delivery count
        }
        b.length(1).string("c1").u64(MS + 20).u64(MS + 30); // one consumer: seen and active time
        b.length(1).streamId(MS, 0); // it owns the first entry
        if (nackZone) {
            b.length(pending - 1);
            for (int i = 1; i < pending; i++) {
                b.streamId(MS, i);
            }
        }
        return b;
    }

    /** Idempotent-producer state: duration, max entries, producers with their IIDs, counters. */
    private static RdbBytes idmp(RdbBytes b) {
        return b.length(100)
                .length(100)
                .length(2) // producers
                .string("producer1")
                .length(1)
                .string("iid_p1_e1")
                .length(MS)
                .length(0)
                .string("producer2")
                .length(2)
                .string("iid_p2_e1")
                .length(MS)
                .length(1)
                .string("iid_p2_e2")
                .length(MS)
                .length(1)
                .length(3) // IIDs added
                .length(1); // duplicates
    }

    private static byte[] stream26() {
        return idmp(group(streamHead(RdbBytes.value()).length(1), 1, false)).bytes();
    }

    private static byte[] stream27() {
        return idmp(group(streamHead(RdbBytes.value()).length(1), 3, true)).bytes();
    }

    /** Elements at indexes 0, 5, 9 and 2^40 of each kind, and an insert cursor at 9. */
    private static byte[] array() {
        return RdbBytes.value()
                .length(4)
                .length(1)
                .length(9) // insert cursor set, at 9
                .length(0)
                .length(1)
                .u64(-42) // integer
                .length(5)
                .length(2)
                .u64(Double.doubleToLongBits(2.5)) // double
                .length(9)
                .length(3)
                .string("abc") // small string
                .length(1L << 40)
                .length(0)
                .string("a string longer than seven bytes")
                .bytes();
    }

    private static byte[] file(int version, String redisVer, int type, byte[] value) {
        return RdbBytes.redis(version)
                .aux("redis-ver", redisVer)
                .selectDb(0)
                .raw(type)
                .string("k")
                .raw(value)
                .raw(0)
                .string("after")
                .string("x")
                .eof();
    }

    /** Reads {@code value} as a key of {@code type} followed by a string key, and checks both. */
    private static void assertRead(int version, int type, byte[] value) throws Exception {
        RdbEncodingsTest.Result r = parse(file(version, version == 13 ? "8.6.1" : "8.8.0", type, value));
        assertThat(r.summary.checksum).isEqualTo(RdbParser.Checksum.VALID);
        assertThat(r.summary.keys).as("the key and the key after it").isEqualTo(2);
        assertThat(r.keys.get(0).type()).isEqualTo(type);
        assertThat(r.keys.get(0).value()).as("the DUMP payload body").isEqualTo(value);
        assertThat(r.keys.get(1).key()).isEqualTo("after");
    }

    @Test
    void streamsWithIdempotentProducerStateOfRedis86AreRead() throws Exception {
        assertRead(13, 26, stream26());
    }

    @Test
    void streamsWithNackedEntriesOfRedis88AreRead() throws Exception {
        assertRead(14, 27, stream27());
        byte[] noProducers = group(streamHead(RdbBytes.value()).length(1), 2, true)
                .length(100)
                .length(100)
                .length(0)
                .length(0)
                .length(0)
                .bytes();
        assertRead(14, 27, noProducers);
    }

    @Test
    void arraysOfRedis88AreRead() throws Exception {
        assertRead(14, 28, array());
        assertRead(
                14,
                28,
                RdbBytes.value()
                        .length(1)
                        .length(0) // no insert cursor
                        .length(3)
                        .length(3)
                        .raw(0xC0, 0x80) // "-128" as an 8-bit integer string
                        .bytes());
    }

    @Test
    void theWriterAndDumpPayloadsCarryTheNewTypesUnchanged() throws Exception {
        byte[] rdb = allThree();
        RdbEncodingsTest.Result r = parse(rdb);
        assertThat(r.summary.keys).isEqualTo(3);
        assertThat(r.summary.expires).isEqualTo(1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (RdbWriter w = new RdbWriter(out, 14, Map.of("redis-ver", "8.8.0"))) {
            for (RdbEncodingsTest.Seen s : r.keys) {
                w.entry(s.db(), s.key().getBytes(), s.type(), s.expireAt(), s.value(), 0, s.value().length);
            }
        }
        assertThat(out.toByteArray()).isEqualTo(rdb);
        assertThat(RdbVersions.dumpPayload(28, r.keys.get(2).value(), 14)[0]).isEqualTo((byte) 28);
    }

    @Test
    void valkeyHasNoneOfTheseTypesAndTypesAfterThemAreUnknown() {
        assertThatThrownBy(() -> parse(RdbBytes.valkey(80)
                        .aux("valkey-ver", "9.0.1")
                        .raw(26)
                        .string("k")
                        .raw(stream26())
                        .eof()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("unknown record type 26")
                .hasMessageContaining("Valkey 9.0.1");
        assertThatThrownBy(() -> parse(file(14, "8.8.0", 29, array())))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("unknown record type 29")
                .hasMessageContaining("Redis 8.8.0")
                .hasMessageContaining("newer than Redis 8.8");
    }

    @Test
    void aType26StreamHasNoNackZoneAndATypeBeforeItNoProducerState() {
        // the same bytes under the older type leave the walk misaligned, which must show
        assertThatThrownBy(() -> parse(file(14, "8.8.0", 26, stream27()))).isInstanceOf(CorruptDataException.class);
        assertThatThrownBy(() -> parse(file(12, "7.4.2", 21, stream26()))).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void badStreamFieldsFailWithTheReason() {
        byte[] shortNodeKey = idmp(RdbBytes.value()
                        .length(1)
                        .string(new byte[15])
                        .string(streamNode())
                        .length(2)
                        .length(MS)
                        .length(1)
                        .length(MS)
                        .length(0)
                        .length(0)
                        .length(0)
                        .length(2)
                        .length(0))
                .bytes();
        assertStreamRejected(26, shortNodeKey, "keyed by 15 bytes");

        byte[] moreNackedThanPending = group(streamHead(RdbBytes.value()).length(1), 2, false)
                .length(3)
                .bytes();
        assertStreamRejected(
                27, moreNackedThanPending, "NACK zone lists 3 entries, more than the 1 of the group's 2 pending");
        byte[] nackedAndOwned = group(streamHead(RdbBytes.value()).length(1), 2, false)
                .length(2)
                .streamId(MS, 0)
                .streamId(MS, 1)
                .bytes();
        assertStreamRejected(27, nackedAndOwned, "NACK zone lists 2 entries, more than the 1");
        byte[] twoOwnersOfOneEntry = streamHead(RdbBytes.value())
                .length(1)
                .string("workers")
                .length(MS)
                .length(1)
                .length(2)
                .length(1) // one pending entry
                .streamId(MS, 0)
                .u64(MS)
                .length(1)
                .length(2) // two consumers
                .string("c1")
                .u64(MS)
                .u64(MS)
                .length(1)
                .streamId(MS, 0)
                .string("c2")
                .u64(MS)
                .u64(MS)
                .length(1)
                .streamId(MS, 0) // owned by both
                .bytes();
        assertStreamRejected(21, twoOwnersOfOneEntry, "a stream consumer owns 1 entries, more than the 0");

        assertStreamRejected(26, withIdmpLimits(0, 100), "for 0 seconds");
        assertStreamRejected(26, withIdmpLimits(86_401, 100), "for 86401 seconds");
        assertStreamRejected(26, withIdmpLimits(100, 0), "keeps 0 idempotent IDs");
        assertStreamRejected(26, withIdmpLimits(100, 10_001), "keeps 10001 idempotent IDs");

        byte[] encodedIdmpNumber = group(streamHead(RdbBytes.value()).length(1), 1, false)
                .raw(0xC0, 5) // an 8-bit integer string where the duration belongs
                .bytes();
        assertStreamRejected(26, encodedIdmpNumber, "string encoding stands where a number belongs");
    }

    private static byte[] withIdmpLimits(long duration, long maxEntries) {
        return group(streamHead(RdbBytes.value()).length(1), 1, false)
                .length(duration)
                .length(maxEntries)
                .length(0)
                .length(0)
                .length(0)
                .bytes();
    }

    private static void assertStreamRejected(int type, byte[] value, String reason) {
        assertThatThrownBy(() -> parse(file(14, "8.8.0", type, value)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void badArraysFailWithTheReason() {
        assertArrayRejected(b -> b.length(0).length(0), "holds no elements");
        assertArrayRejected(b -> b.length(1).length(2), "insert-cursor flag 2");
        assertArrayRejected(b -> b.length(1).length(0).length(-1L).length(1).u64(1), "index 2^64 - 1");
        assertArrayRejected(b -> b.length(1).length(0).length(0).length(4).u64(1), "unknown type tag 4");
        assertArrayRejected(
                b -> b.length(1).length(0).length(0).length(3).string("eight ch"), "small string holds 8 bytes");
        assertArrayRejected(
                b -> b.length(1).length(0).length(0).length(3).raw(0xC2, 0, 0, 0, 0x80),
                "small string holds 11 bytes"); // -2147483648 as a 32-bit integer string
        assertArrayRejected(b -> b.length(1).length(0).raw(0xC0, 1).length(0).u64(1), "where a number belongs");
    }

    private static void assertArrayRejected(UnaryOperator<RdbBytes> value, String reason) {
        byte[] rdb = file(14, "8.8.0", 28, value.apply(RdbBytes.value()).bytes());
        assertThatThrownBy(() -> parse(rdb))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void hugeCountsFailWithoutAllocatingOrSkippingForever() {
        byte[] hugeConsumerPel = streamHead(RdbBytes.value())
                .length(1)
                .string("workers")
                .length(MS)
                .length(1)
                .length(2)
                .length(0) // empty PEL
                .length(1)
                .string("c1")
                .u64(MS)
                .u64(MS)
                .length(1L << 62) // owns 2^62 entries
                .bytes();
        assertStreamRejected(27, hugeConsumerPel, "owns 4611686018427387904 entries, more than the 0");

        byte[] hugeProducers = group(streamHead(RdbBytes.value()).length(1), 1, false)
                .length(100)
                .length(100)
                .length(1L << 62)
                .bytes();
        assertThatThrownBy(() -> parse(RdbBytes.redis(13)
                        .raw(26)
                        .string("k")
                        .raw(hugeProducers)
                        .bytes()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("truncated");
        byte[] hugeArray = RdbBytes.value().length(-1L).bytes();
        assertThatThrownBy(() -> parse(file(14, "8.8.0", 28, hugeArray)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("too large");
    }

    /** One file holding all three types, the array with a TTL. */
    private static byte[] allThree() {
        return RdbBytes.redis(14)
                .aux("redis-ver", "8.8.0")
                .selectDb(0)
                .raw(26)
                .string("s26")
                .raw(stream26())
                .raw(27)
                .string("s27")
                .raw(stream27())
                .expireMs(MS + 60_000)
                .raw(28)
                .string("arr")
                .raw(array())
                .eof();
    }

    @Test
    void everyTruncationFailsAsTruncatedOrCorrupt() throws Exception {
        byte[] rdb = allThree();
        assertThat(parse(rdb).summary.keys).isEqualTo(3);
        RdbEncodingsTest.assertEveryTruncationFails(rdb);
    }

    @Test
    void randomDamageNeverEscapesAsAnotherException() throws Exception {
        RdbEncodingsTest.assertRandomDamageFailsCleanly(allThree(), 26);
    }
}
