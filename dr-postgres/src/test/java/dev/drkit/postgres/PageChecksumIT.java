package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** PageChecksum against PostgreSQL 15 itself: its pageinspect, and every page of a cluster with data checksums. */
class PageChecksumIT {
    static final int PAGE = PageChecksum.PAGE_SIZE;

    @Test
    void everyPageOfAChecksummedClusterVerifiesAndADamagedOrMovedPageDoesNot() throws Exception {
        // no autovacuum: nothing changes pages behind the test's back
        try (PostgresServer pg = PostgresServer.startWithDataChecksums(Map.of("autovacuum", "off"))) {
            String accountsFile;
            try (Connection c = pg.connect("postgres")) {
                assertThat(single(c, "SHOW data_checksums")).isEqualTo("on");
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE accounts AS SELECT i AS id, md5(i::text) AS owner,"
                            + " repeat('x', i % 300) AS note FROM generate_series(1, 30000) i;"
                            + "CREATE INDEX accounts_id ON accounts (id);"
                            + "CREATE INDEX accounts_owner ON accounts (owner);"
                            + "DELETE FROM accounts WHERE id % 7 = 0;"
                            + "CREATE EXTENSION pageinspect");
                    s.execute("VACUUM accounts"); // visibility map and free space map forks
                }
                assertMatchesPageInspect(c);
                accountsFile = single(c, "SELECT pg_relation_filepath('accounts')");
            }
            pg.createDatabase("second");
            pg.execute(
                    "second",
                    "CREATE TABLE t AS SELECT g, g::text AS s FROM generate_series(1, 5000) g;"
                            + "CREATE UNIQUE INDEX ON t (g)");
            pg.execute("postgres", "CHECKPOINT");
            pg.crash(); // freezes the files as the checkpoint left them

            Map<String, Integer> checked = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            int newPages = 0;
            for (Path file : relationFiles(pg.dataDir())) {
                String name = file.getFileName().toString();
                String fork = name.matches("\\d+(\\.\\d+)?") ? "main" : name.replaceAll("^\\d+_|\\..*$", "");
                byte[] data = Files.readAllBytes(file);
                assertThat(data.length % PAGE).as("%s is whole pages", file).isZero();
                long first = PageChecksum.firstBlockNumber(name);
                for (int off = 0; off < data.length; off += PAGE) {
                    long block = first + off / PAGE;
                    if (!PageChecksum.verify(data, off, block)) {
                        failures.add(file + " block " + block);
                    }
                    if (PageChecksum.isNew(data, off)) {
                        newPages++;
                        continue;
                    }
                    int stored = PageChecksum.storedChecksum(data, off);
                    if (PageChecksum.compute(data, off, block) != stored) {
                        failures.add(file + " block " + block + " stores " + stored);
                    }
                    checked.merge(fork, 1, Integer::sum);
                }
            }
            assertThat(failures).as("pages that fail").isEmpty();
            assertThat(checked.get("main")).as("main fork pages checked").isGreaterThan(500);
            assertThat(checked)
                    .as("pages checked by fork (new pages: %d)", newPages)
                    .containsKeys("fsm", "vm");
            System.out.printf("PageChecksumIT: checked %s pages, %d new%n", checked, newPages);

            byte[] file = Files.readAllBytes(pg.dataDir().resolve(accountsFile));
            int off = 5 * PAGE;
            byte[] page = Arrays.copyOfRange(file, off, off + PAGE);
            assertThat(PageChecksum.isNew(page, 0)).isFalse();
            assertThat(PageChecksum.pageLsn(page, 0))
                    .as("a written page has an LSN")
                    .isPositive();
            assertThat(PageChecksum.verify(page, 0, 5)).isTrue();
            assertThat(PageChecksum.verify(page, 0, 6))
                    .as("the page as block 6")
                    .isFalse();
            assertThat(PageChecksum.verify(page, 0, 5 + PageChecksum.PAGES_PER_SEGMENT))
                    .as("the page in the next segment file")
                    .isFalse();
            page[PAGE / 2] ^= 0x01;
            assertThat(PageChecksum.verify(page, 0, 5)).as("one bit flipped").isFalse();
        }
    }

    /** PostgreSQL's page_checksum on made-up pages gives what compute() gives, for any block number. */
    private static void assertMatchesPageInspect(Connection c) throws Exception {
        try (PreparedStatement s = c.prepareStatement("SELECT page_checksum(?, ?)")) {
            byte[] pattern = PageChecksumTest.patternPage();
            int[] known = new int[PageChecksumTest.PATTERN_BLOCKS.length];
            for (int i = 0; i < known.length; i++) {
                known[i] = serverChecksum(s, pattern, (int) PageChecksumTest.PATTERN_BLOCKS[i]);
            }
            assertThat(known).as("the unit test's known answers").containsExactly(PageChecksumTest.PATTERN_CHECKSUMS);
            Random random = new Random(7);
            byte[] page = new byte[PAGE];
            for (int round = 0; round < 200; round++) {
                random.nextBytes(page);
                page[15] |= 0x01; // pd_upper not zero: pageinspect checksums no new page
                int block = round < 100 ? round : random.nextInt(Integer.MAX_VALUE);
                assertThat(PageChecksum.compute(page, 0, block))
                        .as("random page %d as block %d", round, block)
                        .isEqualTo(serverChecksum(s, page, block));
            }
        }
    }

    private static int serverChecksum(PreparedStatement s, byte[] page, int block) throws Exception {
        s.setBytes(1, page);
        s.setInt(2, block);
        try (ResultSet rs = s.executeQuery()) {
            rs.next();
            return Short.toUnsignedInt(rs.getShort(1));
        }
    }

    private static String single(Connection c, String sql) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Every relation file of base/ and global/, all forks. */
    private static List<Path> relationFiles(Path dataDir) throws Exception {
        List<Path> out = new ArrayList<>();
        for (String dir : List.of("base", "global")) {
            try (Stream<Path> walk = Files.walk(dataDir.resolve(dir))) {
                walk.filter(Files::isRegularFile)
                        .filter(p -> PageChecksum.isRelationFile(p.getFileName().toString()))
                        .sorted()
                        .forEach(out::add);
            }
        }
        return out;
    }
}
