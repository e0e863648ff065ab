package dev.drkit.examples.drill;

import dev.drkit.postgres.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The drill's sample {@code corporate_intel} database: companies, their filings, and the application's activity log. */
final class SampleDatabase {
    static final int COMPANIES = 2_000;
    static final int FILINGS = 60_000;

    private SampleDatabase() {}

    static void load(EmbeddedPostgres pg, String database) throws SQLException {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        try (Connection c = pg.connect(database);
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE companies (id int PRIMARY KEY, name text NOT NULL, ticker text UNIQUE NOT NULL, "
                    + "sector text NOT NULL, country text NOT NULL)");
            s.execute("INSERT INTO companies SELECT i, 'Company ' || i, 'T' || lpad(i::text, 5, '0'), "
                    + "(ARRAY['energy','finance','health','industrials','technology'])[1 + i % 5], "
                    + "(ARRAY['DE','FR','GB','NL','US'])[1 + i % 5] FROM generate_series(1, " + COMPANIES + ") i");
            s.execute("CREATE TABLE filings (id bigint PRIMARY KEY, company_id int NOT NULL REFERENCES companies, "
                    + "form text NOT NULL, filed_on date NOT NULL, revenue numeric(14,2), summary text)");
            s.execute(
                    "INSERT INTO filings SELECT i, 1 + i % " + COMPANIES + ", (ARRAY['10-K','10-Q','8-K'])[1 + i % 3], "
                            + "date '2015-01-01' + i % 3650, round((random() * 1e9)::numeric, 2), "
                            + "md5(i::text) || ' ' || repeat('quarterly results and outlook ', 4) "
                            + "FROM generate_series(1, " + FILINGS + ") i");
            s.execute("CREATE INDEX filings_company ON filings (company_id, filed_on)");
            s.execute(
                    "CREATE TABLE activity (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), "
                            + "note text NOT NULL)");
            s.execute("ANALYZE");
        }
    }

    static String describe(EmbeddedPostgres pg, String database) throws SQLException {
        try (Connection c = pg.connect(database);
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT (SELECT count(*) FROM companies), (SELECT count(*) FROM filings), "
                                + "pg_size_pretty(pg_database_size(current_database()))")) {
            rs.next();
            return rs.getLong(1) + " companies, " + rs.getLong(2) + " filings, " + rs.getString(3);
        }
    }

    /** Row count and an MD5 over every row of {@code filings} in key order. */
    static String digest(EmbeddedPostgres pg, String database) throws SQLException {
        try (Connection c = pg.connect(database);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(
                        "SELECT count(*), md5(string_agg(f::text, E'\\n' ORDER BY id)) FROM filings f")) {
            rs.next();
            return rs.getString(2) + " (" + rs.getLong(1) + " rows)";
        }
    }
}
