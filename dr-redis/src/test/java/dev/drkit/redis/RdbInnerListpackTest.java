package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.io.ByteArrayInputStream;
import org.junit.jupiter.api.Test;

/**
 * The listpacks inside hashes (type 16), sorted sets (17), sets (20) and quicklists (18) were
 * passed over unread: one whose entries lie (an odd number of hash entries, a header count or a
 * back length that does not match) passed every check when its CRC-64 is right (a forged file, or
 * a server bug), and went to the server. Redis 7.0 takes such a RESTORE with its default
 * sanitize-dump-payload no, then crashes on the first HGETALL of the key (tried: a type-16 hash
 * of 3 entries, "+OK" then the server dies). The parser has a strict listpack walk: it must be used.
 */
class RdbInnerListpackTest {

    private static void parse(byte[] rdb) throws Exception {
        new RdbParser(new ByteArrayInputStream(rdb), null, "dump.rdb", false, false).parse(null);
    }

    private static byte[] withValue(int type, byte[] listpack) {
        return RdbBytes.redis(10)
                .selectDb(0)
                .op(type)
                .string("k")
                .string(listpack)
                .eof();
    }

    @Test
    void aSoundHashListpackStillParses() throws Exception {
        byte[] lp = new RdbBytes.Lp().str("f").str("v").build();
        parse(withValue(16, lp));
    }

    @Test
    void aHashListpackOfAnOddNumberOfEntriesIsRefused() {
        byte[] lp = new RdbBytes.Lp().str("f").str("v").str("g").build();
        assertThatThrownBy(() -> parse(withValue(16, lp)))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("dump.rdb");
    }

    @Test
    void aSortedSetListpackOfAnOddNumberOfEntriesIsRefused() {
        byte[] lp = new RdbBytes.Lp().str("m").build();
        assertThatThrownBy(() -> parse(withValue(17, lp))).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aListpackWhoseHeaderCountLiesIsRefused() {
        byte[] lp = new RdbBytes.Lp().str("f").str("v").build(4);
        assertThatThrownBy(() -> parse(withValue(16, lp))).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aListpackWhoseBackLengthLiesIsRefused() {
        byte[] lp = new RdbBytes.Lp().str("f").str("v").build();
        lp[6 + 2] = 9; // the back length of the first entry (0x81 'f' then 2)
        assertThatThrownBy(() -> parse(withValue(20, lp))).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aQuicklistNodeWhoseListpackLiesIsRefused() {
        byte[] lp = new RdbBytes.Lp().str("a").str("b").build(7);
        byte[] rdb = RdbBytes.redis(10)
                .selectDb(0)
                .op(18)
                .string("l")
                .length(1)
                .length(2) // packed node
                .string(lp)
                .eof();
        assertThatThrownBy(() -> parse(rdb)).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aQuicklistNodeOfAnUnknownContainerIsRefused() {
        byte[] lp = new RdbBytes.Lp().str("a").build();
        byte[] rdb = RdbBytes.redis(10)
                .selectDb(0)
                .op(18)
                .string("l")
                .length(1)
                .length(7)
                .string(lp)
                .eof();
        assertThatThrownBy(() -> parse(rdb)).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void aPlainQuicklistNodeStillParses() throws Exception {
        byte[] rdb = RdbBytes.redis(10)
                .selectDb(0)
                .op(18)
                .string("l")
                .length(1)
                .length(1) // plain node: one large element as is
                .string("a large element")
                .eof();
        parse(rdb);
        assertThat(rdb).isNotEmpty();
    }
}
