package dev.drkit.postgres;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;

/** Provides the {@code postgres-logical} target. */
public final class PostgresLogicalTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "postgres-logical";

    static final OptionSpec BIN_DIR = OptionSpec.builder("bin-dir", Type.PATH)
            .description("where pg_dump/pg_restore live (else PG_BIN, PATH, /usr/lib/postgresql/N/bin)")
            .build();
    static final OptionSpec GLOBALS = OptionSpec.builder("globals", Type.BOOLEAN)
            .defaultValue("false")
            .description("also back up (or restore) roles and tablespaces")
            .build();

    /** What a restore reads besides the connection, and a restore test too. */
    static final OptionSpec[] RESTORE_OPTIONS = {
        OptionSpec.builder("table", Type.STRING)
                .repeatable()
                .description("restore only this table")
                .build(),
        OptionSpec.builder("schema", Type.STRING)
                .repeatable()
                .description("restore only this schema")
                .build(),
        OptionSpec.builder("no-owner", Type.BOOLEAN)
                .defaultValue("false")
                .description("do not restore object ownership")
                .build(),
        OptionSpec.builder("no-privileges", Type.BOOLEAN)
                .defaultValue("false")
                .description("do not restore privileges (GRANT/REVOKE)")
                .build(),
        OptionSpec.builder("jobs", Type.INT)
                .defaultValue("1")
                .description("parallel restore jobs")
                .build()
    };

    private static final OptionSchema SCHEMA = PgConnection.schema(BIN_DIR, GLOBALS);
    /** The connection, bin-dir and globals come from the target's settings, which a restore may be given too. */
    private static final OptionSchema RESTORE = OptionSchema.of(OptionSpec.builder("to-database", Type.STRING)
                    .required()
                    .description("the database to restore into (created; an existing one needs RestoreRequest.force)")
                    .build())
            .plus(OptionSchema.of(RESTORE_OPTIONS));

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public OptionSchema restoreSchema() {
        return RESTORE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new PostgresLogicalTarget(settings);
    }
}
