package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.cluster.SlotHash;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The slots a cluster snapshot checks its keys against are computed where the parser reads the
 * keys, not from a copy of each: they must be the slots the cluster (here: Lettuce, which routes
 * by them) gives, hash tags included, for keys that span the parser's buffer and keys stored
 * as integers or LZF.
 */
class SlotHashesTest {
    private static final String[] EDGES = {
        "",
        "a",
        "{",
        "}",
        "{}",
        "{}a",
        "a{}",
        "{a",
        "a}",
        "{a}",
        "x{a}y",
        "x{}{a}",
        "{{a}}",
        "{a}{b}",
        "a{b{c}d}",
        "}{a}",
        "{user1000}.following",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "foo{bar}{zap}",
        "é{ü}",
        "123",
        "-5"
    };

    @Test
    void slotsAreTheClustersForTextKeysAndHashTags() {
        for (String k : EDGES) {
            byte[] key = k.getBytes(StandardCharsets.UTF_8);
            assertThat(SlotHashes.slot(key)).as(k).isEqualTo(SlotHash.getSlot(key));
        }
        SplittableRandom r = new SplittableRandom(7);
        byte[] alphabet = "ab{}\u0000\u00ff".getBytes(StandardCharsets.ISO_8859_1);
        for (int i = 0; i < 20_000; i++) {
            byte[] key = new byte[r.nextInt(12)];
            for (int j = 0; j < key.length; j++) {
                key[j] = r.nextInt(3) == 0 ? alphabet[r.nextInt(alphabet.length)] : (byte) r.nextInt(256);
            }
            assertThat(SlotHashes.slot(key)).isEqualTo(SlotHash.getSlot(key));
        }
        for (long n : new long[] {0, 7, -128, 127, 32767, -32768, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            assertThat(SlotHashes.slot(n)).isEqualTo(SlotHash.getSlot(Long.toString(n)));
        }
    }

    @Test
    void theParserGivesEachKeysSlotWhereItReadsIt() throws Exception {
        RdbBytes rdb = RdbBytes.redis(11).selectDb(0);
        List<byte[]> keys = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 3000; i++) {
            byte[] key = ("k" + i + (i % 3 == 0 ? "{tag" + i % 17 + "}" : "") + "x".repeat(r.nextInt(40)))
                    .getBytes(StandardCharsets.US_ASCII);
            keys.add(key);
            rdb.op(0).string(key).string("v" + i);
        }
        // keys longer than the parser's 64 KiB buffer, one with its tag at the far end
        byte[] huge = ("a".repeat(150_000) + "{far}").getBytes(StandardCharsets.US_ASCII);
        byte[] hugeNoTag = ("{".repeat(70_000) + "}").getBytes(StandardCharsets.US_ASCII);
        for (byte[] key : List.of(huge, hugeNoTag)) {
            keys.add(key);
            rdb.op(0).string(key).string("v");
        }
        // integers, as the server stores keys like "12345": 8, 16 and 32 bits
        rdb.op(0).raw(0xC0, 0xF6).string("v"); // -10
        rdb.op(0).raw(0xC1, 0x39, 0x30).string("v"); // 12345
        rdb.op(0).raw(0xC2, 0x15, 0xCD, 0x5B, 0x07).string("v"); // 123456789
        keys.add("-10".getBytes(StandardCharsets.US_ASCII));
        keys.add("12345".getBytes(StandardCharsets.US_ASCII));
        keys.add("123456789".getBytes(StandardCharsets.US_ASCII));
        // an LZF string of literals only: a control byte (count - 1), then the bytes
        byte[] lzfKey = "compressed{lzf}key".getBytes(StandardCharsets.US_ASCII);
        rdb.op(0).raw(0xC3).length(lzfKey.length + 1).length(lzfKey.length);
        rdb.raw(lzfKey.length - 1).raw(lzfKey).string("v");
        keys.add(lzfKey);
        byte[] file = rdb.eof();

        List<Integer> slots = new ArrayList<>();
        RdbParser.Summary s = new RdbParser(new ByteArrayInputStream(file), null, "test.rdb", false, false)
                .onKeySlots(slots::add)
                .parse(null);

        assertThat(s.keys).isEqualTo(keys.size());
        assertThat(s.checksum).isEqualTo(RdbParser.Checksum.VALID);
        assertThat(slots).hasSize(keys.size());
        for (int i = 0; i < keys.size(); i++) {
            assertThat(slots.get(i)).as("key " + i).isEqualTo(SlotHash.getSlot(keys.get(i)));
        }
        assertThat(slots.get(keys.size() - 6)).isEqualTo(SlotHash.getSlot("far"));
    }
}
