package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.sun.management.ThreadMXBean;
import dev.drkit.CorruptDataException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The RDB encodings of Redis 7.4 to 8.8 and Valkey 9, on bytes built from the layouts in their
 * {@code rdb.c}: hashes with field expiry (types 22 to 25, and Valkey's 22), module values,
 * key metadata, slot info and slot imports; and damaged input, which must fail cleanly.
 */
class RdbEncodingsTest {
    private static final long T1 = 1_900_000_000_000L;
    private static final long T2 = 1_900_000_123_456L;

    /** What a parse reported for each key. */
    record Seen(int db, String key, int type, long expireAt, byte[] value, long fieldsGoneAt) {}

    static final class Result {
        RdbParser.Summary summary;
        final List<Seen> keys = new ArrayList<>();
    }

    static Result parse(byte[] rdb) throws Exception {
        Result r = new Result();
        RdbParser p = new RdbParser(new ByteArrayInputStream(rdb), null, "dump.rdb", true, true);
        r.summary = p.parse((db, key, type, at, value) ->
                r.keys.add(new Seen(db, new String(key, StandardCharsets.UTF_8), type, at, value, p.fieldsGoneAt())));
        return r;
    }

    /** Type 25: minimum expiry, then a listpack of field, value, TTL triplets (0: no TTL). */
    private static byte[] listpackExValue(boolean everyFieldExpires) {
        RdbBytes.Lp lp = new RdbBytes.Lp()
                .str("f1")
                .str("v1")
                .integer(T1)
                .str("f2")
                .integer(42)
                .integer(everyFieldExpires ? T2 : 0);
        return RdbBytes.value().u64(T1).string(lp.build()).bytes();
    }

    /** Type 24: minimum expiry, count, then [ttl relative to the minimum + 1, 0 for none][field][value]. */
    private static byte[] metadataValue() {
        return RdbBytes.value()
                .u64(T1)
                .length(3)
                .length(0)
                .string("plain")
                .string("1")
                .length(1) // T1 - T1 + 1
                .string("soon")
                .string("2")
                .length(T2 - T1 + 1)
                .string("later")
                .string("3")
                .bytes();
    }

    @Test
    void listpackExHashesCountAsKeysButNotAsExpiringKeys() throws Exception {
        byte[] value = listpackExValue(false);
        byte[] rdb = RdbBytes.redis(12)
                .aux("redis-ver", "7.4.2")
                .selectDb(0)
                .raw(25)
                .string("h")
                .raw(value)
                .eof();
        Result r = parse(rdb);
        assertThat(r.summary.checksum).isEqualTo(RdbParser.Checksum.VALID);
        assertThat(r.summary.keys).isEqualTo(1);
        assertThat(r.summary.expires).isZero();
        assertThat(r.summary.fieldExpiryKeys).isEqualTo(1);
        Seen h = r.keys.get(0);
        assertThat(h.type()).isEqualTo(25);
        assertThat(h.value()).isEqualTo(value);
        assertThat(h.fieldsGoneAt()).as("f2 never expires").isEqualTo(-1);
        assertThat(parse(RdbBytes.redis(12)
                                .raw(25)
                                .string("h")
                                .raw(listpackExValue(true))
                                .eof())
                        .keys
                        .get(0)
                        .fieldsGoneAt())
                .isEqualTo(T2);
    }

    @Test
    void metadataHashesCarryRelativeTtlsAfterTheMinimum() throws Exception {
        byte[] value = metadataValue();
        byte[] rdb = RdbBytes.redis(12)
                .selectDb(2)
                .expireMs(T2 + 1000)
                .raw(24)
                .string("big")
                .raw(value)
                .raw(24)
                .string("noKeyTtl")
                .raw(value)
                .eof();
        Result r = parse(rdb);
        assertThat(r.summary.keys).isEqualTo(2);
        assertThat(r.summary.expires).as("only the key with a TTL of its own").isEqualTo(1);
        assertThat(r.summary.fieldExpiryKeys).isEqualTo(2);
        assertThat(r.summary.keysPerDb).containsEntry(2, 2L);
        assertThat(r.keys.get(0).expireAt()).isEqualTo(T2 + 1000);
        assertThat(r.keys.get(1).expireAt()).isEqualTo(-1);
        assertThat(r.keys.get(1).value()).isEqualTo(value);
        assertThat(r.keys.get(1).fieldsGoneAt()).as("'plain' has no TTL").isEqualTo(-1);

        byte[] allExpire = RdbBytes.value()
                .u64(T1)
                .length(2)
                .length(1)
                .string("a")
                .string("1")
                .length(T2 - T1 + 1)
                .string("b")
                .string("2")
                .bytes();
        assertThat(parse(RdbBytes.redis(12).raw(24).string("k").raw(allExpire).eof())
                        .keys
                        .get(0)
                        .fieldsGoneAt())
                .isEqualTo(T2);
    }

    @Test
    void releaseCandidateLayoutsHaveAbsoluteTtlsAndNoMinimum() throws Exception {
        byte[] metadata = RdbBytes.value()
                .length(2)
                .length(T1)
                .string("a")
                .string("1")
                .length(0)
                .string("b")
                .string("2")
                .bytes();
        byte[] lp = RdbBytes.value()
                .string(new RdbBytes.Lp().str("f").str("v").integer(T2).build())
                .bytes();
        Result r = parse(RdbBytes.redis(12)
                .raw(22)
                .string("m")
                .raw(metadata)
                .raw(23)
                .string("l")
                .raw(lp)
                .eof());
        assertThat(r.summary.keys).isEqualTo(2);
        assertThat(r.summary.fieldExpiryKeys).isEqualTo(2);
        assertThat(r.keys.get(0).fieldsGoneAt()).isEqualTo(-1);
        assertThat(r.keys.get(1).fieldsGoneAt()).isEqualTo(T2);
        assertThat(r.keys.get(1).value()).isEqualTo(lp);
    }

    @Test
    void valkeyNineFilesUseTheirMagicTheirHashTypeAndSlotImports() throws Exception {
        byte[] hash2 = RdbBytes.value()
                .length(2)
                .string("f1")
                .string("v1")
                .u64(T1)
                .string("f2")
                .string("v2")
                .u64(-1) // no expiry
                .bytes();
        byte[] rdb = RdbBytes.valkey(80)
                .aux("valkey-ver", "9.0.1")
                .aux("redis-ver", "7.2.4")
                .op(RdbParser.OP_KEY_META) // Valkey: slot import in progress
                .string("0123456789012345678901234567890123456789")
                .length(2)
                .length(0)
                .length(100)
                .length(5000)
                .length(5460)
                .selectDb(0)
                .op(RdbParser.OP_SLOT_INFO)
                .length(7)
                .length(1)
                .length(0)
                .raw(22)
                .string("h")
                .raw(hash2)
                .raw(0)
                .string("s")
                .string("x")
                .eof();
        Result r = parse(rdb);
        assertThat(r.summary.valkey).isTrue();
        assertThat(r.summary.version).isEqualTo(80);
        assertThat(r.summary.writer()).isEqualTo("Valkey 9.0.1");
        assertThat(r.summary.keys).isEqualTo(2);
        assertThat(r.summary.fieldExpiryKeys).isEqualTo(1);
        assertThat(r.keys.get(0).type()).isEqualTo(22);
        assertThat(r.keys.get(0).value()).isEqualTo(hash2);
        assertThat(r.keys.get(0).fieldsGoneAt()).isEqualTo(-1);

        // the same bytes under a Redis header are Redis' type 22, a different layout
        byte[] asRedis = Arrays.copyOf(rdb, rdb.length);
        System.arraycopy("REDIS0012".getBytes(StandardCharsets.US_ASCII), 0, asRedis, 0, 9);
        assertThatThrownBy(() -> parse(asRedis)).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void moduleValuesAndModuleAuxAreWalkedOpcodeByOpcode() throws Exception {
        long moduleId = 0x1234_5678_9ABC_DEF0L;
        byte[] module = RdbBytes.value()
                .length(moduleId)
                .length(1) // signed
                .length(-5L) // stored as its unsigned 64-bit value
                .length(2) // unsigned
                .length(1L << 40)
                .length(3) // float
                .raw(0, 0, 0x80, 0x3F)
                .length(4) // double
                .u64(Double.doubleToLongBits(2.5))
                .length(5) // string
                .string("{\"json\":true}")
                .length(0) // EOF
                .bytes();
        byte[] rdb = RdbBytes.redis(12)
                .aux("redis-ver", "8.2.1")
                .op(RdbParser.OP_MODULE_AUX)
                .length(moduleId)
                .length(2)
                .length(2) // when: after the keyspace
                .length(5)
                .string("aux")
                .length(0)
                .raw(7)
                .string("doc")
                .raw(module)
                .op(RdbParser.OP_FUNCTION2)
                .string("#!lua name=lib\nredis.register_function('f', function() return 1 end)")
                .eof();
        Result r = parse(rdb);
        assertThat(r.summary.keys).isEqualTo(1);
        assertThat(r.summary.moduleValues).isEqualTo(1);
        assertThat(r.summary.functions).isEqualTo(1);
        assertThat(r.keys.get(0).type()).isEqualTo(7);
        assertThat(r.keys.get(0).value()).isEqualTo(module);

        byte[] badOpcode = RdbBytes.redis(12)
                .raw(7)
                .string("doc")
                .length(moduleId)
                .length(9)
                .eof();
        assertThatThrownBy(() -> parse(badOpcode))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("unknown item opcode 9");
    }

    @Test
    void keyMetadataStaysInTheDumpPayloadAndTheWriterPutsTheKeyBackInPlace() throws Exception {
        byte[] meta = RdbBytes.value()
                .length(1) // one class
                .raw(0x11, 0x22, 0x33, 0x44) // class spec
                .length(2)
                .length(77)
                .length(0) // EOF of the class value
                .bytes();
        byte[] value = RdbBytes.value().string("hello").bytes();
        byte[] rdb = RdbBytes.redis(13)
                .aux("redis-ver", "8.6.1")
                .selectDb(0)
                .expireMs(T1)
                .op(RdbParser.OP_KEY_META)
                .raw(meta)
                .raw(0)
                .string("k")
                .raw(value)
                .eof();
        Result r = parse(rdb);
        assertThat(r.summary.keys).isEqualTo(1);
        assertThat(r.summary.expires).isEqualTo(1);
        Seen k = r.keys.get(0);
        assertThat(k.type()).isEqualTo(RdbParser.OP_KEY_META);
        byte[] payloadBody = RdbBytes.value().raw(meta).raw(0).raw(value).bytes();
        assertThat(k.value()).as("the DUMP payload after its first byte").isEqualTo(payloadBody);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Map<String, String> aux = new LinkedHashMap<>();
        aux.put("redis-ver", "8.6.1");
        try (RdbWriter w = new RdbWriter(out, 13, aux)) {
            w.entry(0, "k".getBytes(), k.type(), k.expireAt(), k.value(), 0, k.value().length);
        }
        assertThat(out.toByteArray()).isEqualTo(rdb);
    }

    @Test
    void theWriterPassesFieldTtlEncodingsThroughUnchanged() throws Exception {
        byte[] rdb = RdbBytes.redis(12)
                .aux("redis-ver", "7.4.2")
                .selectDb(0)
                .raw(25)
                .string("lp")
                .raw(listpackExValue(false))
                .selectDb(5)
                .expireMs(T2)
                .raw(24)
                .string("ht")
                .raw(metadataValue())
                .eof();
        Result r = parse(rdb);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (RdbWriter w = new RdbWriter(out, 12, Map.of("redis-ver", "7.4.2"))) {
            for (Seen s : r.keys) {
                w.entry(s.db(), s.key().getBytes(), s.type(), s.expireAt(), s.value(), 0, s.value().length);
            }
        }
        assertThat(out.toByteArray()).isEqualTo(rdb);

        // and a DUMP payload built from a parsed entry is what RESTORE takes: type, value, version, CRC
        byte[] payload = RdbVersions.dumpPayload(25, r.keys.get(0).value(), 12);
        assertThat(payload[0]).isEqualTo((byte) 25);
        assertThat(payload[payload.length - 10]).isEqualTo((byte) 12);
    }

    @Test
    void valkeyVersionsAreWrittenWithValkeysMagic() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (RdbWriter w = new RdbWriter(out, 80, Map.of("valkey-ver", "9.0.1"))) {
            w.entry(0, "k".getBytes(), 0, -1, RdbBytes.value().string("v").bytes(), 0, 2);
        }
        byte[] rdb = out.toByteArray();
        assertThat(new String(rdb, 0, 9, StandardCharsets.US_ASCII)).isEqualTo("VALKEY080");
        Result r = parse(rdb);
        assertThat(r.summary.valkey).isTrue();
        assertThat(r.summary.checksum).isEqualTo(RdbParser.Checksum.VALID);
        assertThat(r.keys).hasSize(1);
    }

    @Test
    void versionsReadAreRedisUpToEightEightAndValkeyNine() throws Exception {
        for (int v : new int[] {11, 12, 13, 14}) {
            assertThat(parse(RdbBytes.redis(v).eof()).summary.version).isEqualTo(v);
        }
        assertThat(parse(RdbBytes.valkey(80).eof()).summary.version).isEqualTo(80);
        assertThatThrownBy(() -> parse(RdbBytes.redis(15).eof()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("RDB version 15")
                .hasMessageContaining("Redis up to 8.8");
        assertThatThrownBy(() -> parse(RdbBytes.valkey(81).eof()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("Valkey RDB version 81");
        assertThatThrownBy(() -> parse(RdbBytes.valkey(11).eof()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("VALKEY011");
    }

    @Test
    void unknownTypesNameTheTypeAndTheServerThatWroteThem() {
        byte[] unknown = RdbBytes.redis(12).aux("redis-ver", "7.4.2").raw(99).eof();
        assertThatThrownBy(() -> parse(unknown))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("unknown record type 99")
                .hasMessageContaining("Redis 7.4.2")
                .hasMessageContaining("restore an older backup");
        byte[] valkeyHasNo24 =
                RdbBytes.valkey(80).aux("valkey-ver", "9.0.1").raw(24).eof();
        assertThatThrownBy(() -> parse(valkeyHasNo24))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("unknown record type 24")
                .hasMessageContaining("Valkey 9.0.1");
    }

    @Test
    void damagedListpacksFailWithTheReason() {
        byte[] good = new RdbBytes.Lp().str("f").str("v").integer(T1).build();
        byte[] noTerminator = good.clone();
        noTerminator[noTerminator.length - 1] = 0x00;
        assertListpackRejected(noTerminator, "0xFF terminator");

        byte[] wrongTotal = good.clone();
        wrongTotal[0]++;
        assertListpackRejected(wrongTotal, "header gives");

        assertListpackRejected(new RdbBytes.Lp().str("f").str("v").integer(T1).build(5), "counts 5 entries");

        byte[] earlyEnd = good.clone();
        earlyEnd[6] = (byte) 0xFF;
        assertListpackRejected(earlyEnd, "comes before the end");

        byte[] pastEnd = good.clone();
        pastEnd[6] = (byte) 0xBF; // a 63-byte string in a 20-byte listpack
        assertListpackRejected(pastEnd, "runs past the end");

        byte[] badBacklen = good.clone();
        badBacklen[8] ^= 0x01; // the back length of "f"
        assertListpackRejected(badBacklen, "back length");

        byte[] unusedEncoding = good.clone();
        unusedEncoding[6] = (byte) 0xF7;
        assertListpackRejected(unusedEncoding, "unknown encoding byte 0xf7");

        assertListpackRejected(new RdbBytes.Lp().str("f").str("v").build(), "not field, value, TTL triplets");
        assertListpackRejected(new RdbBytes.Lp().str("f").str("v").integer(-5).build(), "expires at -5");
        assertListpackRejected(new RdbBytes.Lp().str("f").str("v").str("soon").build(), "not a number");
    }

    private static void assertListpackRejected(byte[] lp, String reason) {
        byte[] rdb = RdbBytes.redis(12).raw(23).string("h").string(lp).eof();
        assertThatThrownBy(() -> parse(rdb))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void fieldTtlsBeyondWhatAServerHoldsAreCorrupt() {
        byte[] rdb = RdbBytes.redis(12)
                .raw(24)
                .string("h")
                .u64(T1)
                .length(1)
                .length(1L << 50)
                .string("f")
                .string("v")
                .eof();
        assertThatThrownBy(() -> parse(rdb))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("TTL");
    }

    @Test
    void everyTruncationFailsAsTruncatedOrCorrupt() throws Exception {
        byte[] module =
                RdbBytes.value().length(1).length(5).string("x").length(0).bytes();
        byte[] rdb = RdbBytes.redis(13)
                .aux("redis-ver", "8.6.1")
                .selectDb(0)
                .raw(25)
                .string("lp")
                .raw(listpackExValue(false))
                .raw(24)
                .string("ht")
                .raw(metadataValue())
                .op(RdbParser.OP_KEY_META)
                .length(1)
                .raw(1, 2, 3, 4)
                .length(0)
                .raw(7)
                .string("m")
                .raw(module)
                .eof();
        assertThat(parse(rdb).summary.keys).isEqualTo(3);
        assertEveryTruncationFails(rdb);
    }

    /** Every proper prefix of {@code rdb} fails as truncated or corrupt, never otherwise. */
    static void assertEveryTruncationFails(byte[] rdb) {
        for (int cut = 0; cut < rdb.length; cut++) {
            byte[] part = Arrays.copyOf(rdb, cut);
            assertThatThrownBy(() -> parse(part)).as("cut at %d", cut).isInstanceOf(CorruptDataException.class);
        }
    }

    @Test
    void hugeLengthsFailWithoutAllocatingThem() {
        // a 2 GiB key and a 2^62-field hash, in files of a few bytes
        byte[] hugeString = RdbBytes.redis(12)
                .raw(0)
                .raw(0x80, 0x7F, 0x00, 0x00, 0x00)
                .raw(1, 2, 3)
                .bytes();
        assertThatThrownBy(() -> parse(hugeString))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("truncated");
        byte[] hugeCount =
                RdbBytes.redis(12).raw(24).string("h").u64(T1).length(1L << 62).bytes();
        assertThatThrownBy(() -> parse(hugeCount)).isInstanceOf(CorruptDataException.class);
        byte[] negativeCount = RdbBytes.redis(12).raw(4).string("h").length(-1L).bytes();
        assertThatThrownBy(() -> parse(negativeCount))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("too large");
        byte[] lzfBomb = RdbBytes.redis(12)
                .raw(0)
                .string("k")
                .raw(0xC3)
                .length(4)
                .length(1_000_000_000)
                .raw(0, 0, 0, 0)
                .eof();
        assertThatThrownBy(() -> parse(lzfBomb))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("claims to hold");
        byte[] farDb = RdbBytes.redis(12).selectDb(Integer.MAX_VALUE).eof();
        assertThatThrownBy(() -> parse(farDb))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("database");
    }

    @Test
    void anExpiryBefore1970IsAKeyThatHasExpiredNotOneWithoutExpiry() throws Exception {
        // a server drops such keys when it loads the file; a restore must not bring them back forever
        Result r = parse(RdbBytes.redis(10)
                .selectDb(0)
                .expireMs(-5)
                .raw(0)
                .string("gone-ms")
                .string("v")
                .raw(0xFD, 0xFE, 0xFF, 0xFF, 0xFF) // seconds, signed: -2
                .raw(0)
                .string("gone-s")
                .string("v")
                .expireMs(-1) // -1 is the server's own "none"
                .raw(0)
                .string("kept")
                .string("v")
                .eof());
        assertThat(r.keys)
                .extracting(Seen::key, Seen::expireAt)
                .containsExactly(tuple("gone-ms", 0L), tuple("gone-s", 0L), tuple("kept", -1L));
        assertThat(r.summary.expires).isEqualTo(2);
    }

    @Test
    void aLargeLzfStringClaimingFarMoreThanItHoldsCostsNoMoreMemoryThanItExpandsTo() {
        // 5 MB of input may claim up to 100 times that; what it really expands to is what is allocated
        byte[] key = RdbBytes.redis(10)
                .selectDb(0)
                .raw(0)
                .raw(0xC3)
                .length(5_000_000)
                .length(500_000_064L)
                .raw(new byte[5_000_000])
                .string("v")
                .eof();
        byte[] aux = RdbBytes.redis(10)
                .op(0xFA)
                .string("a")
                .raw(0xC3)
                .length(5_000_000)
                .length(500_000_064L)
                .raw(new byte[5_000_000])
                .eof();
        var threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (byte[] rdb : List.of(key, aux)) {
            long before = threads.getCurrentThreadAllocatedBytes();
            assertThatThrownBy(() -> parse(rdb)).isInstanceOf(CorruptDataException.class);
            assertThat(threads.getCurrentThreadAllocatedBytes() - before).isLessThan(100_000_000L);
        }
        assertThatThrownBy(() -> parse(aux)).hasMessageContaining("aux field a claims 500000064 bytes");
    }

    @Test
    void randomDamageNeverEscapesAsAnotherException() throws Exception {
        byte[] rdb = RdbBytes.redis(12)
                .aux("redis-ver", "7.4.2")
                .selectDb(0)
                .raw(25)
                .string("lp")
                .raw(listpackExValue(true))
                .raw(24)
                .string("ht")
                .raw(metadataValue())
                .raw(23)
                .string("rc")
                .string(new RdbBytes.Lp().str("a").integer(-3000).integer(0).build())
                .eof();
        assertRandomDamageFailsCleanly(rdb, 19);
    }

    /**
     * Damages one to three bytes after the header, 5000 times: each parse ends in a result or in
     * a {@link CorruptDataException} naming the source, and some damage leaves the structure intact.
     */
    static void assertRandomDamageFailsCleanly(byte[] rdb, long seed) throws Exception {
        Random random = new Random(seed);
        int parsed = 0;
        for (int i = 0; i < 5000; i++) {
            byte[] damaged = rdb.clone();
            for (int j = 1 + random.nextInt(3); j > 0; j--) {
                damaged[9 + random.nextInt(damaged.length - 9)] = (byte) random.nextInt(256);
            }
            try {
                RdbParser.Summary s = new RdbParser(new ByteArrayInputStream(damaged), null, "x", true, true)
                        .parse((db, key, type, at, value) -> {});
                assertThat(s.checksum)
                        .isIn(RdbParser.Checksum.MISMATCH, RdbParser.Checksum.VALID, RdbParser.Checksum.ABSENT);
                parsed++;
            } catch (CorruptDataException expected) {
                assertThat(expected.getMessage()).startsWith("x");
            }
        }
        assertThat(parsed).as("some damage leaves the structure intact").isPositive();
    }
}
