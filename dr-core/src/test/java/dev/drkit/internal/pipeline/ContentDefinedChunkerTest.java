package dev.drkit.internal.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.internal.pipeline.ContentDefinedChunker.Sizes;
import dev.drkit.spi.support.Sha256;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ContentDefinedChunkerTest {
    private static final Sizes SMALL = new Sizes(256, 1024, 4096);
    private static final Sizes MEDIUM = new Sizes(16 << 10, 64 << 10, 256 << 10);

    /** The chunks of one stream, as cut. */
    private static final class Recorder implements ContentDefinedChunker.ChunkSink {
        final List<Integer> lengths = new ArrayList<>();
        final List<String> hashes = new ArrayList<>();
        final ByteArrayOutputStream joined = new ByteArrayOutputStream();

        @Override
        public void accept(byte[] data, int offset, int length) {
            lengths.add(length);
            hashes.add(Sha256.hex(data, offset, length));
            joined.write(data, offset, length);
        }
    }

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static Recorder inOneGo(Sizes sizes, byte[] data) throws IOException {
        Recorder r = new Recorder();
        try (ContentDefinedChunker c = new ContentDefinedChunker(sizes, r)) {
            c.write(data);
        }
        return r;
    }

    @Test
    void gearTableStartsWithThePinnedValues() {
        // printf 'drkit-cdc-gear-v1/%d' N | sha256sum | cut -c1-16
        assertThat(ContentDefinedChunker.gear(0)).isEqualTo(Long.parseUnsignedLong("b025cf441e12368c", 16));
        assertThat(ContentDefinedChunker.gear(1)).isEqualTo(Long.parseUnsignedLong("1a44a44a994b2afd", 16));
        assertThat(ContentDefinedChunker.gear(2)).isEqualTo(Long.parseUnsignedLong("d1471851b0cd8543", 16));
        assertThat(ContentDefinedChunker.gear(3)).isEqualTo(Long.parseUnsignedLong("a8d5f31f85969ee2", 16));
        assertThat(ContentDefinedChunker.gear(255)).isEqualTo(Long.parseUnsignedLong("383221251ea791a7", 16));
    }

    @Test
    void cutPointsFollowTheDocumentedDefinition() throws IOException {
        byte[] data = random(1, 3 << 20);
        assertThat(inOneGo(SMALL, data).lengths).isEqualTo(referenceCuts(SMALL, data));
        assertThat(inOneGo(MEDIUM, data).lengths).isEqualTo(referenceCuts(MEDIUM, data));
        byte[] big = random(2, 24 << 20);
        List<Integer> cuts = inOneGo(Sizes.DEFAULT, big).lengths;
        assertThat(cuts).hasSizeGreaterThan(10).isEqualTo(referenceCuts(Sizes.DEFAULT, big));
    }

    @Test
    void cutPointsOfAKnownInputArePinned() throws IOException {
        // java.util.Random's sequence is specified, so this input is the same on every JDK;
        // a change here means chunks stored by earlier versions no longer deduplicate.
        List<Integer> cuts = inOneGo(SMALL, random(42, 64 << 10)).lengths;
        assertThat(cuts.subList(0, 8)).containsExactly(PINNED_SMALL_CUTS);
    }

    private static final Integer[] PINNED_SMALL_CUTS = {1157, 1175, 1121, 960, 613, 1025, 1455, 1827};

    @Test
    void cutPointsDoNotDependOnHowTheBytesAreWritten() throws IOException {
        byte[] data = random(3, 2 << 20);
        Recorder whole = inOneGo(SMALL, data);

        Recorder oneByOne = new Recorder();
        try (ContentDefinedChunker c = new ContentDefinedChunker(SMALL, oneByOne)) {
            for (byte b : data) {
                c.write(b);
            }
        }

        Recorder slices = new Recorder();
        Random r = new Random(4);
        try (ContentDefinedChunker c = new ContentDefinedChunker(SMALL, slices)) {
            int pos = 0;
            while (pos < data.length) {
                int n = Math.min(data.length - pos, r.nextInt(r.nextBoolean() ? 10 : 20_000));
                if (n == 1) {
                    c.write(data[pos]);
                } else {
                    c.write(data, pos, n);
                }
                c.flush();
                pos += n;
            }
        }

        assertThat(whole.lengths).hasSizeGreaterThan(1000);
        assertThat(oneByOne.lengths).isEqualTo(whole.lengths);
        assertThat(oneByOne.hashes).isEqualTo(whole.hashes);
        assertThat(slices.lengths).isEqualTo(whole.lengths);
        assertThat(slices.hashes).isEqualTo(whole.hashes);
        assertThat(whole.joined.toByteArray()).isEqualTo(data);
    }

    @Test
    void aHandingOffChunkerCutsTheSameChunksAndNeverTouchesAChunkItGaveAway() throws IOException {
        byte[] data = random(7, 6 << 20);
        Recorder borrowed = inOneGo(MEDIUM, data);
        for (boolean recycle : new boolean[] {false, true}) {
            List<byte[]> given = new ArrayList<>();
            List<Integer> lengths = new ArrayList<>();
            List<String> hashesWhenGiven = new ArrayList<>();
            ArrayDeque<byte[]> pool = new ArrayDeque<>();
            Set<byte[]> taken = Collections.newSetFromMap(new IdentityHashMap<>());
            ContentDefinedChunker.Buffers buffers = n -> {
                byte[] b = pool.poll();
                b = b != null && b.length >= n ? b : new byte[n + 17]; // larger than asked, as a pool's may be
                assertThat(taken.add(b)).as("a buffer given out twice").isTrue();
                Arrays.fill(b, (byte) 0x5a); // contents do not matter
                return b;
            };
            Random r = new Random(8);
            try (ContentDefinedChunker c = new ContentDefinedChunker(
                    MEDIUM,
                    (d, n) -> {
                        assertThat(taken.remove(d))
                                .as("a chunk in a buffer the chunker was given")
                                .isTrue();
                        given.add(d);
                        lengths.add(n);
                        hashesWhenGiven.add(Sha256.hex(d, 0, n));
                        if (recycle && given.size() > 2) { // an earlier chunk's buffer is done with
                            pool.add(given.set(given.size() - 3, null));
                        }
                    },
                    buffers)) {
                int pos = 0;
                while (pos < data.length) {
                    int n = Math.min(data.length - pos, r.nextInt(r.nextBoolean() ? 3 : 600_000));
                    if (n == 1) {
                        c.write(data[pos]);
                    } else {
                        c.write(data, pos, n);
                    }
                    pos += n;
                }
            }
            assertThat(lengths).as("recycled %s", recycle).isEqualTo(borrowed.lengths);
            assertThat(hashesWhenGiven).isEqualTo(borrowed.hashes);
            for (int i = 0; i < given.size(); i++) {
                if (given.get(i) != null) { // still the sink's: unchanged since it was given
                    assertThat(Sha256.hex(given.get(i), 0, lengths.get(i))).isEqualTo(borrowed.hashes.get(i));
                }
            }
        }
    }

    @Test
    void aBufferSmallerThanAskedIsRefused() {
        ContentDefinedChunker.Buffers stingy = n -> new byte[n - 1];
        assertThatThrownBy(() -> new ContentDefinedChunker(SMALL, (d, n) -> {}, stingy))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("were asked");
    }

    @Test
    void slicesLargerThanMaxGiveTheSameChunks() throws IOException {
        byte[] data = random(5, 20 << 20);
        Recorder whole = inOneGo(MEDIUM, data);
        Recorder slices = new Recorder();
        Random r = new Random(6);
        try (ContentDefinedChunker c = new ContentDefinedChunker(MEDIUM, slices)) {
            int pos = 0;
            while (pos < data.length) {
                int n = Math.min(data.length - pos, 1 + r.nextInt(3 << 20));
                c.write(data, pos, n);
                pos += n;
            }
        }
        assertThat(slices.hashes).isEqualTo(whole.hashes);
    }

    @Test
    void everyChunkButTheLastIsWithinMinAndMax() throws IOException {
        byte[] text =
                "INSERT INTO t VALUES (1, 'same row again');\n".repeat(100_000).getBytes(StandardCharsets.US_ASCII);
        for (byte[] data : List.of(random(7, 3 << 20), new byte[3 << 20], text)) {
            for (Sizes sizes : List.of(SMALL, MEDIUM)) {
                List<Integer> lengths = inOneGo(sizes, data).lengths;
                assertThat(lengths).as("chunks of %s", sizes).hasSizeGreaterThan(5);
                assertThat(lengths.subList(0, lengths.size() - 1))
                        .allSatisfy(
                                n -> assertThat(n).isGreaterThan(sizes.min()).isLessThanOrEqualTo(sizes.max()));
                assertThat(lengths.get(lengths.size() - 1)).isBetween(1, sizes.max());
                assertThat(lengths.stream().mapToLong(Integer::longValue).sum()).isEqualTo(data.length);
            }
        }
        // Zeros never meet the cut condition: every chunk is max long.
        assertThat(inOneGo(SMALL, new byte[40960]).lengths).containsOnly(4096).hasSize(10);
    }

    @Test
    void meanChunkSizeOnRandomDataIsNearAvg() throws IOException {
        byte[] data = random(8, 8 << 20);
        List<Integer> lengths = inOneGo(MEDIUM, data).lengths;
        double mean = (double) data.length / lengths.size();
        assertThat(mean).isBetween(MEDIUM.avg() * 0.8, MEDIUM.avg() * 1.4);
    }

    @Test
    void anInsertionNearTheStartChangesOnlyTheChunksAroundIt() throws IOException {
        byte[] before = random(9, 16 << 20);
        byte[] inserted = random(10, 100);
        byte[] after = new byte[before.length + inserted.length];
        int at = 40_000;
        System.arraycopy(before, 0, after, 0, at);
        System.arraycopy(inserted, 0, after, at, inserted.length);
        System.arraycopy(before, at, after, at + inserted.length, before.length - at);

        List<String> old = inOneGo(MEDIUM, before).hashes;
        List<String> now = inOneGo(MEDIUM, after).hashes;
        Set<String> known = new HashSet<>(old);
        long fresh = now.stream().filter(h -> !known.contains(h)).count();
        assertThat(old).hasSizeGreaterThan(150);
        assertThat(fresh).as("chunks not seen before the insertion").isBetween(1L, 2L);
        int tail = now.size() - 3;
        assertThat(now.subList(3, now.size())).isEqualTo(old.subList(old.size() - tail, old.size()));

        // The same with the default sizes and a deletion in the middle.
        byte[] big = random(11, 48 << 20);
        byte[] cut = new byte[big.length - 1000];
        System.arraycopy(big, 0, cut, 0, 20 << 20);
        System.arraycopy(big, (20 << 20) + 1000, cut, 20 << 20, cut.length - (20 << 20));
        List<String> bigOld = inOneGo(Sizes.DEFAULT, big).hashes;
        Set<String> bigKnown = new HashSet<>(bigOld);
        long bigFresh = inOneGo(Sizes.DEFAULT, cut).hashes.stream()
                .filter(h -> !bigKnown.contains(h))
                .count();
        assertThat(bigOld).hasSizeGreaterThan(30);
        assertThat(bigFresh).isBetween(1L, 2L);
    }

    @Test
    void badSizesAreRejectedWithEveryProblem() {
        assertThatThrownBy(() -> new Sizes(10, 1000, 500))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems())
                        .containsExactly(
                                "chunk min size 10 is below 64 bytes",
                                "chunk avg size 1000 is not a power of two (e.g. 1048576)",
                                "chunk max size 500 must be larger than avg size 1000"));
        assertThatThrownBy(() -> new Sizes(4096, 4096, 1 << 30))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("avg size 4096 must be larger than min size 4096")
                .hasMessageContaining("max size 1073741824 is above 67108864 bytes");
        assertThat(new Sizes(64, 128, 64 << 20).max()).isEqualTo(64 << 20);
    }

    @Test
    void emptyInputGivesNoChunkAndShortInputOne() throws IOException {
        assertThat(inOneGo(SMALL, new byte[0]).lengths).isEmpty();
        assertThat(inOneGo(SMALL, new byte[] {1, 2, 3}).lengths).containsExactly(3);
    }

    @Test
    void aFailingSinkStopsTheStream() throws IOException {
        ContentDefinedChunker c = new ContentDefinedChunker(SMALL, (d, o, n) -> {
            throw new IOException("disk full");
        });
        assertThatThrownBy(() -> c.write(new byte[10_000])).hasMessage("disk full");
        assertThatThrownBy(() -> c.write(1)).hasMessageContaining("failed earlier");
        c.close(); // does not hand the partial chunk to the failed sink again
        assertThat(c.chunkCount()).isZero();
    }

    @Test
    void closeHandsOverTheRestOnceAndWritesAfterItFail() throws IOException {
        Recorder r = new Recorder();
        ContentDefinedChunker c = new ContentDefinedChunker(SMALL, r);
        c.write(random(12, 100));
        c.close();
        c.close();
        assertThat(r.lengths).containsExactly(100);
        assertThat(c.byteCount()).isEqualTo(100);
        assertThatThrownBy(() -> c.write(1)).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    /** The definition in the class Javadoc, written out plainly over a whole array. */
    private static List<Integer> referenceCuts(Sizes s, byte[] data) {
        long[] gear = new long[256];
        MessageDigest sha = Sha256.newDigest();
        for (int i = 0; i < 256; i++) {
            byte[] d = sha.digest(("drkit-cdc-gear-v1/" + i).getBytes(StandardCharsets.US_ASCII));
            gear[i] = ByteBuffer.wrap(Arrays.copyOf(d, 8)).getLong();
        }
        int k = Integer.numberOfTrailingZeros(s.avg());
        long maskS = 0;
        long maskL = 0;
        for (int bit = 63; bit > 63 - (k + 2); bit--) {
            maskS |= 1L << bit;
        }
        for (int bit = 63; bit > 63 - (k - 2); bit--) {
            maskL |= 1L << bit;
        }
        List<Integer> cuts = new ArrayList<>();
        int start = 0;
        while (start < data.length) {
            int length = Math.min(s.max(), data.length - start);
            long h = 0;
            for (int j = s.min(); j < Math.min(s.max(), data.length - start); j++) {
                h = (h << 1) + gear[data[start + j] & 0xff];
                if ((h & (j < s.avg() ? maskS : maskL)) == 0) {
                    length = j + 1;
                    break;
                }
            }
            cuts.add(length);
            start += length;
        }
        return cuts;
    }
}
