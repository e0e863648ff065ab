package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SentinelResolverTest {
    private static RedisEndpoint parse(String uri, String... more) {
        Settings.Builder s = Settings.builder().set("uri", uri);
        for (int i = 0; i < more.length; i += 2) {
            s.set(more[i], more[i + 1]);
        }
        return RedisEndpoint.parse(s.build(), "uri");
    }

    @Test
    void aSentinelUriNamesEachSentinelTheMasterAndTheDatabaseAndHidesThePassword() {
        SentinelResolver.Parsed p =
                SentinelResolver.parse("redis-sentinel://app:s3cret@10.0.0.5:26380,[::1],cache-2/my%2Dmaster/3", "uri");

        assertThat(p.sentinels())
                .containsExactly(
                        new SentinelResolver.Address("10.0.0.5", 26380),
                        new SentinelResolver.Address("::1", 26379),
                        new SentinelResolver.Address("cache-2", 26379));
        assertThat(p.master()).isEqualTo("my-master");
        assertThat(p.database()).isEqualTo(3);
        assertThat(p.tls()).isFalse();
        assertThat(p.toString()).doesNotContain("s3cret").contains("userInfo=***");

        RedisEndpoint e = parse("redis-sentinel://app:s3cret@10.0.0.5:26380,[::1]/cache");
        assertThat(e.user()).isEqualTo("app");
        assertThat(e.password()).isEqualTo("s3cret");
        assertThat(e.toString())
                .isEqualTo("redis-sentinel://10.0.0.5:26380,[::1]:26379/cache")
                .doesNotContain("s3cret");
        assertThat(e.sentinel()).isPresent();
        assertThat(Settings.builder()
                        .set("uri", "redis-sentinel://app:s3cret@h1:1,h2:2/cache")
                        .build()
                        .toString())
                .doesNotContain("s3cret");
    }

    @Test
    void tlsSentinelUrisTakeACaAndReadFromIsForSentinelUrisOnly() throws Exception {
        Path ca = Files.createTempFile("ca", ".pem");
        try {
            RedisEndpoint e = parse("rediss-sentinel://h1/cache", "tls-ca", ca.toString(), "read-from", "replica");
            assertThat(e.sentinel().orElseThrow().readFrom()).isEqualTo(ReadFrom.REPLICA);
            assertThat(e.toString()).isEqualTo("rediss-sentinel://h1:26379/cache");
        } finally {
            Files.delete(ca);
        }
        assertThatThrownBy(() -> parse("redis://h1:6379", "read-from", "replica"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("setting 'read-from' needs a redis-sentinel:// URI");
    }

    @Test
    void malformedSentinelUrisSayWhatIsWrong() {
        assertThatThrownBy(() -> parse("redis-sentinel://h1:26379"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("master's name");
        assertThatThrownBy(() -> parse("redis-sentinel://h1:26379,/cache"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("without a host");
        assertThatThrownBy(() -> parse("redis-sentinel://h1:99999/cache"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("bad port");
        assertThatThrownBy(() -> parse("redis-sentinel://h1/cache/x"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("must be a number");
        assertThatThrownBy(() -> parse("redis-sentinel://h1/cache?master=x"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("no ?query");
        assertThatThrownBy(() -> parse("redis-sentinel://[::1/cache"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unclosed IPv6");
    }

    @Test
    void theHealthiestReplicaIsUpLinkedAndFurthestAlong() {
        List<Object> reply = List.of(
                replica("10.0.0.7", "6379", "slave", "ok", "900"),
                replica("10.0.0.8", "6379", "s_down,slave", "ok", "5000"),
                replica("10.0.0.9", "6380", "slave", "ok", "1000"),
                replica("10.0.0.10", "6379", "slave", "err", "9000"),
                replica("10.0.0.11", "6379", "slave,disconnected", "ok", "9000"));

        assertThat(SentinelResolver.healthiestReplica(reply)).contains(new SentinelResolver.Address("10.0.0.9", 6380));
        assertThat(SentinelResolver.healthiestReplica(List.of(replica("10.0.0.8", "6379", "o_down,slave", "ok", "1"))))
                .isEmpty();
        assertThat(SentinelResolver.healthiestReplica(null)).isEmpty();
    }

    /**
     * The replica a sentinel named was taken at the sentinel's word, whose view is seconds old (or
     * a hostile sentinel's own): a server that was no replica at all (here a master of other data)
     * gave the backup, recorded as a replica of 'mymaster'. The server is now asked itself, as a
     * cluster's replicas are.
     */
    @Test
    void aReplicaTheSentinelNamesMustSayItIsALinkedReplica() throws Exception {
        String asMaster = ScriptedRedis.bulk("# Replication\r\nrole:master\r\n");
        try (ServerSocket master = ScriptedRedis.start(c -> asMaster);
                ServerSocket notAReplica = ScriptedRedis.start(c -> asMaster);
                ServerSocket sentinel = ScriptedRedis.start(c -> c.get(1).equalsIgnoreCase("GET-MASTER-ADDR-BY-NAME")
                        ? ScriptedRedis.array("127.0.0.1", String.valueOf(master.getLocalPort()))
                        : "*1\r\n"
                                + ScriptedRedis.array(
                                        "ip", "127.0.0.1",
                                        "port", String.valueOf(notAReplica.getLocalPort()),
                                        "flags", "slave",
                                        "master-link-status", "ok",
                                        "slave-repl-offset", "100"))) {
            String uri = "redis-sentinel://127.0.0.1:" + sentinel.getLocalPort() + "/mymaster";
            assertThatThrownBy(() -> RedisEndpoint.from(
                            Settings.builder()
                                    .set("uri", uri)
                                    .set("read-from", "replica")
                                    .build(),
                            "uri"))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("as a healthy replica, but it is a master");
            RedisEndpoint preferred = RedisEndpoint.from(
                    Settings.builder()
                            .set("uri", uri)
                            .set("read-from", "replica-preferred")
                            .build(),
                    "uri");
            assertThat(preferred.port()).isEqualTo(master.getLocalPort());
        }
    }

    /** A master's address a sentinel names must be a host name or an IP: it goes into messages and a name lookup. */
    @Test
    void aMasterAddressThatIsNoHostIsPassedOver() throws Exception {
        try (ServerSocket sentinel = ScriptedRedis.start(c -> ScriptedRedis.array("evil\r\nforged log line", "6379"))) {
            String uri = "redis-sentinel://127.0.0.1:" + sentinel.getLocalPort() + "/mymaster";
            assertThatThrownBy(() -> RedisEndpoint.from(
                            Settings.builder().set("uri", uri).build(), "uri"))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("named no usable address for 'mymaster'")
                    .hasMessageNotContaining("forged");
        }
    }

    private static List<Object> replica(String ip, String port, String flags, String link, String offset) {
        return List.of(
                "name", ip + ":" + port,
                "ip", ip,
                "port", port,
                "flags", flags,
                "master-link-status", link,
                "slave-repl-offset", offset);
    }

    @Test
    void theBuilderTakesSentinelsAndRejectsBadOnesAtTheCall() {
        RedisTarget t = RedisTarget.builder()
                .sentinel("cache", List.of("10.0.0.5:26379", "10.0.0.6"))
                .build();
        assertThat(t.type()).isEqualTo("redis");
        assertThatThrownBy(() -> RedisTarget.builder().sentinel("cache", List.of("10.0.0.5:x")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("bad port");
        assertThatThrownBy(() -> RedisTarget.builder()
                        .sentinel("cache", List.of("h:1"))
                        .settings(
                                Settings.builder().set("uri", "redis://h:6379").build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not both");
    }
}
