package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every form of key reference and API term the library's messages use becomes the CLI's words. */
class MessageFlagsTest {

    static List<Arguments> libraryMessages() {
        return List.of(
                Arguments.of(
                        "files restore needs a destination directory (setting 'to')",
                        "files restore needs a destination directory (--to)"),
                Arguments.of(
                        "restore destination /d is not empty; choose a new or empty directory, or restore with "
                                + "RestoreRequest.force to overwrite",
                        "restore destination /d is not empty; choose a new or empty directory, or restore with "
                                + "--force to overwrite"),
                Arguments.of(
                        "config/x/data.tar.zst is encrypted (pgp) and no decryption key was given; give its "
                                + "secret key (setting 'secret-key') or passphrase (setting 'passphrase-file')",
                        "config/x/data.tar.zst is encrypted (pgp) and no decryption key was given; give its secret "
                                + "key (--secret-key) or passphrase (--passphrase-file)"),
                Arguments.of(
                        "'x' is not a backup id (expected e.g. 20250103T020000Z-3f9a1c); listing the target's "
                                + "backups (DrKit.list) shows the ids",
                        "'x' is not a backup id (expected e.g. 20250103T020000Z-3f9a1c); listing the target's "
                                + "backups (drkit list) shows the ids"),
                Arguments.of(
                        "repository: not set; give setting 'repository' (file:/path, s3://bucket/prefix, ...)",
                        "repository: not set; give --repo (file:/path, s3://bucket/prefix, ...)"),
                Arguments.of(
                        "encryption needs at least one recipient key (setting 'encrypt-to') or a passphrase "
                                + "(setting 'passphrase-file')",
                        "encryption needs at least one recipient key (--encrypt-to) or a passphrase "
                                + "(--passphrase-file)"),
                Arguments.of(
                        "repository URI scheme 's3': setting 'endpoint' must be a URI such as scheme://HOST:PORT, "
                                + "not 'ht tp://x'",
                        "repository URI scheme 's3': URI parameter 'endpoint=' must be a URI such as "
                                + "scheme://HOST:PORT, not 'ht tp://x'"),
                Arguments.of(
                        "repository URI scheme 's3': unknown setting 'prefix'; did you mean setting 'profile'?",
                        "repository URI scheme 's3': unknown URI parameter 'prefix='; did you mean URI parameter "
                                + "'profile='?"),
                Arguments.of(
                        "cannot read /x to back it up (permission denied); check that the user running the backup "
                                + "may read it, or leave it out with setting 'exclude'",
                        "cannot read /x to back it up (permission denied); check that the user running the backup "
                                + "may read it, or leave it out with --exclude"),
                Arguments.of(
                        "cannot back up /x: it does not exist; check setting 'path'",
                        "cannot back up /x: it does not exist; check --path"),
                Arguments.of(
                        "minio-bucket needs setting 'endpoint' (http(s)://HOST:PORT)",
                        "minio-bucket needs --endpoint (http(s)://HOST:PORT)"),
                Arguments.of(
                        "minio-bucket: give at least one bucket (setting 'bucket')",
                        "minio-bucket: give at least one bucket (--bucket)"),
                Arguments.of(
                        "a restore test needs PostgreSQL 15 server binaries (pg_ctl, postgres): give setting "
                                + "'server-bin-dir', the directory that holds them",
                        "a restore test needs PostgreSQL 15 server binaries (pg_ctl, postgres): give "
                                + "--server-bin-dir, the directory that holds them"),
                Arguments.of(
                        "a restore test needs a scratch server: give setting 'url' "
                                + "(jdbc:postgresql://HOST:PORT/postgres) and setting 'user'",
                        "a restore test needs a scratch server: give --url (jdbc:postgresql://HOST:PORT/postgres) "
                                + "and --user"),
                Arguments.of(
                        "no /x/global/pg_control: run the WAL commands in the cluster's data directory "
                                + "(PostgreSQL does for archive_command and restore_command) or give the data directory as "
                                + "WalArchive's dataDir",
                        "no /x/global/pg_control: run the WAL commands in the cluster's data directory "
                                + "(PostgreSQL does for archive_command and restore_command) or give the data "
                                + "directory as --pgdata"),
                Arguments.of(
                        "postgres: setting 'url' must start with jdbc:postgresql://, not 'x'",
                        "postgres: --url must start with jdbc:postgresql://, not 'x'"),
                Arguments.of(
                        "cannot read /d: physical backups read the data directory directly; run the backup on "
                                + "the database host as the cluster's owner (or give setting 'data-dir')",
                        "cannot read /d: physical backups read the data directory directly; run the backup on "
                                + "the database host as the cluster's owner (or give --data-dir)"),
                Arguments.of(
                        "set archive_mode = on and an archive_command that runs WalArchive.push for this "
                                + "repository, then restart PostgreSQL (or stream WAL with PostgresWalStreamer and give "
                                + "setting 'wal-source' the value stream)",
                        "set archive_mode = on and an archive_command that runs 'drkit --repo REPO wal-push %p' "
                                + "for this repository, then restart PostgreSQL (or stream WAL with drkit wal-stream "
                                + "and give --wal-source the value stream)"),
                Arguments.of(
                        "postgres restore needs setting 'restore-command': the restore_command PostgreSQL will "
                                + "run to fetch WAL from this repository (WalArchive.fetch)",
                        "postgres restore needs --restore-command: the restore_command PostgreSQL will run to "
                                + "fetch WAL from this repository ('drkit --repo REPO wal-fetch %f %p')"),
                Arguments.of(
                        "tablespace 16385's location /t is not empty; give it another location with setting "
                                + "'tablespace-16385', or restore with RestoreRequest.force",
                        "tablespace 16385's location /t is not empty; give it another location with "
                                + "--tablespace 16385=DIR, or restore with --force"),
                Arguments.of(
                        "give at most one recovery target (setting 'time', setting 'lsn', setting 'xid', "
                                + "setting 'target-name' or setting 'immediate')",
                        "give at most one recovery target (--time, --lsn, --xid, --target-name or --immediate)"),
                Arguments.of(
                        "setting 'time': yesterday is not a timestamp with a zone",
                        "--time: yesterday is not a timestamp with a zone"),
                Arguments.of("setting 'bin-dir' /x holds no pg_dump", "--bin-dir /x holds no pg_dump"),
                Arguments.of(
                        "postgres-logical restore needs setting 'to-database' (a new one is created; an existing "
                                + "one needs RestoreRequest.force)",
                        "postgres-logical restore needs --to-database (a new one is created; an existing one needs "
                                + "--force)"),
                Arguments.of(
                        "a load test needs redis-server: install it or give its path as setting 'redis-server'",
                        "a load test needs redis-server: install it or give its path as --redis-server"),
                Arguments.of(
                        "redis: give the server as setting 'to-uri' (redis://[USER@]HOST:PORT; password in "
                                + "setting 'password-file')",
                        "redis: give the server as --to-uri (redis://[USER@]HOST:PORT; password in --password-file)"),
                Arguments.of(
                        "redis: give the server as setting 'uri' (redis://HOST:PORT)",
                        "redis: give the server as --uri (redis://HOST:PORT)"),
                Arguments.of("redis: setting 'tls-ca' needs a rediss:// URI", "redis: --tls-ca needs a rediss:// URI"),
                Arguments.of(
                        "redis: setting 'match' needs setting 'mode' set to keys",
                        "redis: --match needs --mode set to keys"),
                Arguments.of(
                        "redis restore needs exactly one destination: setting 'to-dir' (a directory) or "
                                + "setting 'to-uri'",
                        "redis restore needs exactly one destination: --to-dir (a directory) or --to-uri"),
                Arguments.of("give setting 'server-version' to check it", "give --server-version to check it"),
                Arguments.of(
                        "check the server's log or raise setting 'timeout'",
                        "check the server's log or raise " + "--timeout"));
    }

    @ParameterizedTest
    @MethodSource("libraryMessages")
    void libraryMessagesNameTheCliFlags(String library, String cli) {
        assertThat(MessageFlags.forCli(library)).isEqualTo(cli);
    }

    @Test
    void everyFlagAndCommandItNamesExists() {
        Set<String> options = new HashSet<>();
        Set<String> commands = new HashSet<>();
        collect(DrkitCli.commandLine(), options, commands);
        List<String> named = new ArrayList<>(MessageFlags.apiTerms().values());
        MessageFlags.mappedKeys().forEach(k -> named.add(MessageFlags.flag(k).orElseThrow()));
        named.add(MessageFlags.flag("tablespace-16385").orElseThrow());
        for (String words : named) {
            Matcher flag = Pattern.compile("--[a-z-]+").matcher(words);
            while (flag.find()) {
                assertThat(options).as(words).contains(flag.group());
            }
            Matcher command = Pattern.compile("(?:drkit|REPO) ([a-z][a-z-]*)").matcher(words);
            while (command.find()) {
                assertThat(commands).as(words).contains(command.group(1));
            }
        }
        assertThat(named).hasSizeGreaterThan(50);
    }

    private static void collect(picocli.CommandLine cmd, Set<String> options, Set<String> commands) {
        cmd.getCommandSpec().options().forEach(o -> options.addAll(List.of(o.names())));
        cmd.getSubcommands().forEach((name, sub) -> {
            commands.add(name);
            collect(sub, options, commands);
        });
    }

    @Test
    void aKeyWithoutAFlagStaysASettingOfTheSetupFile() {
        assertThat(MessageFlags.forCli("give setting 'secret-passphrase-file'"))
                .isEqualTo("give setting 'secret-passphrase-file'");
    }

    @Test
    void wordsThatOnlyLookLikeTermsStayAlone() {
        assertThat(MessageFlags.forCli("RestoreRequest.forced DrKit.listing setting to 'x' and replacement $1 \\"))
                .isEqualTo("RestoreRequest.forced DrKit.listing setting to 'x' and replacement $1 \\");
        assertThat(MessageFlags.forCli(null)).isNull();
    }
}
