import com.sun.management.OperatingSystemMXBean;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * drkit embedded in a host JVM (the library's main use): one DrKit, a warm-up backup, then
 * RUNS backups interleaved with runs of a reference script doing the same job with the
 * reference tool; prints the medians: reference seconds, drkit seconds, and the CPU seconds
 * (user + system) this JVM used per backup.
 * Arguments: target type, repository, runs, reference script (run with sh), then the target's
 * settings as KEY=VALUE (e.g. uri=redis://127.0.0.1:6379 cluster=true). With EMBEDDED_FRESH=1 in
 * the environment each backup goes into an empty repository (deleted, and a new kit built for it,
 * untimed), as the first backup of a deduplicating repository stores everything.
 */
public class EmbeddedBackup {
    public static void main(String[] a) throws Exception {
        String type = a[0];
        String repo = a[1];
        int runs = Integer.parseInt(a[2]);
        List<String> refCommand = List.of("sh", a[3]);
        Settings.Builder settings = Settings.builder();
        for (int i = 4; i < a.length; i++) {
            String[] kv = a[i].split("=", 2);
            settings.set(kv[0], kv[1]);
        }
        List<Double> drkit = new ArrayList<>();
        List<Double> ref = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        boolean fresh = "1".equals(System.getenv("EMBEDDED_FRESH"));
        TargetSpec spec = new TargetSpec("embedded", type, settings.build());
        DrKit kit = DrKit.builder().repository(repo).build();
        try {
            kit.backup(spec); // warm-up
            for (int i = 0; i < runs; i++) {
                if (fresh) { // a kit remembers what its repository held: a new one for the emptied repository
                    kit.close();
                    empty(Path.of(repo));
                    kit = DrKit.builder().repository(repo).build();
                }
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder(refCommand)
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (p.waitFor() != 0) {
                    throw new IllegalStateException(refCommand + " failed");
                }
                ref.add((System.nanoTime() - t0) / 1e9);
                long cpu0 = os.getProcessCpuTime();
                t0 = System.nanoTime();
                kit.backup(spec);
                drkit.add((System.nanoTime() - t0) / 1e9);
                cpu.add((os.getProcessCpuTime() - cpu0) / 1e9);
                System.err.printf("embedded run %d: reference %.2fs, drkit in-process %.2fs (%.2fs CPU)%n",
                        i + 1, ref.get(i), drkit.get(i), cpu.get(i));
            }
        } finally {
            kit.close();
        }
        System.out.printf("%.3f %.3f %.3f%n", median(ref), median(drkit), median(cpu));
    }

    /** Deletes what the repository holds, keeping its directory. */
    private static void empty(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.get((s.size() - 1) / 2);
    }
}
