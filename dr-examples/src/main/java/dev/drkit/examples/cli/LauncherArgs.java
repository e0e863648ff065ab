package dev.drkit.examples.cli;

/**
 * The JVM options by which the launcher ({@code bin/drkit}) makes a command's class archive on
 * its first run. A command that starts another JVM from its own command line (a WAL fill, a
 * restore's fill) leaves them out: the second JVM must not write the same archive or training
 * file as the first.
 */
final class LauncherArgs {
    private LauncherArgs() {}

    /** Whether {@code arg} makes an archive: dynamic CDS at exit, or an AOT training run's recording. */
    static boolean makesArchive(String arg) {
        return arg.startsWith("-XX:ArchiveClassesAtExit=")
                || arg.startsWith("-XX:AOTMode=")
                || arg.startsWith("-XX:AOTConfiguration=")
                || arg.startsWith("-XX:AOTCacheOutput=");
    }
}
