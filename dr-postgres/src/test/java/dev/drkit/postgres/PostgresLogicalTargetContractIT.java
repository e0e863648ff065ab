package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.BackupTargetContract;
import dev.drkit.testkit.PostgresServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The backup target contract for {@code postgres-logical}, restoring into databases of a real PostgreSQL 15. */
class PostgresLogicalTargetContractIT extends BackupTargetContract {
    private static final String SCHEMA = String.join(
            "\n",
            "CREATE SCHEMA shop;",
            "CREATE TABLE shop.items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, price numeric(10,2),",
            "  tags text[], info jsonb, blob bytea);",
            "CREATE TABLE shop.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,",
            "  item_id int REFERENCES shop.items(id), qty int);",
            "CREATE VIEW shop.sold AS SELECT i.name, sum(o.qty) AS qty FROM shop.items i JOIN shop.orders o",
            "  ON o.item_id = i.id GROUP BY i.name;",
            "INSERT INTO shop.items (name, price, tags, info, blob) SELECT 'item ' || i, i * 1.5,",
            "  ARRAY['t' || (i % 3)], jsonb_build_object('n', i), decode(md5(i::text), 'hex') FROM generate_series(1, 500) i;",
            "INSERT INTO shop.orders (item_id, qty) SELECT 1 + i % 500, i % 7 FROM generate_series(1, 2000) i;");
    /** What the comparison reads: every row, the sequences' positions and the view. */
    private static final List<String> CONTENT = List.of(
            "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM shop.items t",
            "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM shop.orders t",
            "SELECT last_value FROM shop.items_id_seq",
            "SELECT md5(string_agg(t::text, '|' ORDER BY name)) FROM shop.sold t",
            "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'shop'");

    static PostgresServer pg;

    private final String unique = Long.toHexString(System.nanoTime());
    private String source;
    private Path passwordFile;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    private Settings connection(String database) {
        return Settings.builder()
                .set("url", pg.jdbcUrl(database))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", passwordFile.toString())
                .set("bin-dir", pg.binDir().toString())
                .build();
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        passwordFile = pg.passwordFile(work);
        source = "shop_" + unique;
        pg.createDatabase(source);
        pg.execute(source, SCHEMA);
        return new TargetSpec("shop", PostgresLogicalTargetProvider.TYPE, connection(source));
    }

    @Override
    protected String destination(String name) {
        return "restored_" + name + "_" + unique;
    }

    @Override
    protected Settings restoreOptions(String destination) {
        return connection("postgres").toBuilder()
                .set("to-database", destination)
                .build();
    }

    private static List<String> content(String database) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = pg.connect(database);
                Statement s = c.createStatement()) {
            for (String q : CONTENT) {
                try (ResultSet rs = s.executeQuery(q)) {
                    rs.next();
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    @Override
    protected void assertRestored(String destination) throws Exception {
        assertThat(content(destination)).isEqualTo(content(source));
    }

    @Override
    protected void occupy(String destination) throws Exception {
        pg.createDatabase(destination);
        pg.execute(destination, "CREATE TABLE live (note text); INSERT INTO live VALUES ('live data')");
    }

    @Override
    protected void assertOccupiedUntouched(String destination) throws Exception {
        try (Connection c = pg.connect(destination);
                Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(
                    "SELECT string_agg(table_schema || '.' || table_name, ',') "
                            + "FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("public.live");
            }
            try (ResultSet rs = s.executeQuery("SELECT string_agg(note, ',') FROM live")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("live data");
            }
        }
    }

    @Override
    protected void assertNothingRestored(String destination) throws Exception {
        assertThat(pg.databases()).doesNotContain(destination);
    }

    @Override
    protected UnreachableSource unreachableSource() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Settings settings = Settings.builder()
                .set("url", "jdbc:postgresql://127.0.0.1:" + port + "/shop")
                .set("user", PostgresServer.SUPERUSER)
                .set("bin-dir", pg.binDir().toString())
                .build();
        return new UnreachableSource(
                new TargetSpec("shop", PostgresLogicalTargetProvider.TYPE, settings), "127.0.0.1:" + port);
    }
}
