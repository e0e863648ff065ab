package dev.drkit.spring;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.DrListener;
import dev.drkit.micrometer.DrMetrics;
import dev.drkit.notify.WebhookListener;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import dev.drkit.spring.DrkitSetup.HostConnection;
import dev.drkit.spring.DrkitSetup.HostConnection.Kind;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

/**
 * Builds one {@link DrKit} from the {@code drkit.*} properties, runs the setup's schedules with
 * the application's lifecycle, and records Micrometer meters when the application has a
 * {@link MeterRegistry}. Backs off entirely when the application defines its own {@code DrKit}
 * bean, and when {@code drkit.enabled} is false.
 *
 * <pre>{@code
 * drkit:
 *   repository: file:/var/backups/orders
 *   objectives: { rpo: 1h, rto: 2h }
 *   targets:
 *     orders-db:
 *       type: postgres-logical          # through the application's DataSource
 *       schedule: "0 * * * *"
 *       retention: { keep-hourly: 24, keep-daily: 7 }
 * }</pre>
 */
@AutoConfiguration(
        afterName = {
            "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
            "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration",
            "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration"
        })
// any value but false: the setup reader refuses one that is not true or false (yes, 1), which this condition,
// as @ConditionalOnBooleanProperty, would take for false and so turn every backup off without a word
@ConditionalOnProperty(name = "drkit.enabled", matchIfMissing = true)
@ConditionalOnMissingBean(DrKit.class)
public class DrkitAutoConfiguration {
    private static final String REDIS_FACTORY = "org.springframework.data.redis.connection.RedisConnectionFactory";

    /**
     * The setup read from the {@code drkit.*} properties and checked against the providers'
     * option schemas.
     *
     * @throws dev.drkit.ConfigException listing every problem, which fails the application's start-up
     */
    @Bean
    public DrkitSetup drkitSetup(Environment environment, ListableBeanFactory beans) {
        return new SpringSetupReader(
                        environment,
                        kind -> beans.getBeanNamesForType(type(kind), true, false).length > 0,
                        beans::containsBean,
                        SetupFile.discoveredProviders())
                .read();
    }

    /**
     * The kit: the setup's repository and compression, each target configured once (on the
     * application's DataSource or Redis connection where it uses one), every {@link DrListener}
     * bean of the application, and the application's {@link Clock} bean when it has one. Closed
     * with the application.
     */
    @Bean(destroyMethod = "close")
    public DrKit drKit(
            DrkitSetup drkitSetup,
            ListableBeanFactory beans,
            Environment environment,
            ObjectProvider<DrListener> listeners,
            ObjectProvider<DrKitBuilderCustomizer> customizers,
            ObjectProvider<Clock> clock) {
        Setup setup = drkitSetup.setup();
        if (setup.notifications() != null && setup.notifications().incidents() != null) {
            // read by the drkit run service only: silently unused here, it would page nobody
            throw new ConfigException("drkit.notifications.incidents is not read by the Spring Boot starter, "
                    + "which would page nobody: remove it here, and declare an IncidentManager bean of the "
                    + "application (dr-incident) instead");
        }
        if (setup.repository() == null || setup.repository().isBlank()) {
            throw new ConfigException("drkit.repository is not set: give the repository's path or URI "
                    + "(for example drkit.repository=/var/backups/drkit), or set drkit.enabled=false");
        }
        DrKitConfig.Builder config = DrKitConfig.builder().repository(setup.repository());
        if (setup.compression() != null) {
            config.compression(setup.compression());
        }
        DrKit.Builder builder = DrKit.builder().config(config.build());
        clock.ifAvailable(builder::clock);
        SetupKeys.apply(setup.encryption(), builder);
        for (Setup.Target t : setup.targets().values()) {
            HostConnection c = drkitSetup.connection(t.name());
            if (c == null) {
                builder.target(t.spec());
            } else if (c.kind() == Kind.DATA_SOURCE) {
                builder.target(
                        t.name(),
                        HostTargets.postgres(t, c.beanName(), beans, environment),
                        t.spec().kitSettings());
            } else {
                builder.target(
                        t.name(),
                        HostTargets.redis(t, c.beanName(), beans),
                        t.spec().kitSettings());
            }
        }
        listeners.orderedStream().forEach(builder::listener);
        customizers.orderedStream().forEach(c -> c.customize(builder));
        return builder.build();
    }

    /**
     * The webhook of {@code drkit.notifications.webhook}: the kit's and the scheduler's events
     * ({@code drkit.notifications.events}, else failures and warnings) POSTed as JSON. A
     * {@link DrListener} bean like the application's own, so the kit and the scheduler hear it;
     * closed with the application.
     */
    @Bean(destroyMethod = "close")
    @ConditionalOnProperty(name = "drkit.notifications.webhook")
    public WebhookListener drkitWebhookListener(DrkitSetup drkitSetup) {
        Setup.Notifications n = drkitSetup.setup().notifications();
        return new WebhookListener(n.webhook(), n.events(), 5, Duration.ofSeconds(2));
    }

    /**
     * Runs the setup's schedules while the application runs, on the kit's clock (the
     * application's {@link Clock} bean when it has one, or the one a customizer gave the kit); a
     * running backup may finish on shutdown.
     */
    @Bean
    @ConditionalOnBooleanProperty(name = "drkit.scheduler.enabled", matchIfMissing = true)
    public DrkitSchedulerLifecycle drkitScheduler(
            DrKit drKit, DrkitSetup drkitSetup, ObjectProvider<DrListener> listeners) {
        List<DrListener> all = listeners.orderedStream().toList();
        return new DrkitSchedulerLifecycle(drKit, drkitSetup, all, drKit.clock());
    }

    private static Class<?> type(Kind kind) {
        if (kind == Kind.DATA_SOURCE) {
            return DataSource.class;
        }
        ClassLoader loader = DrkitAutoConfiguration.class.getClassLoader();
        return ClassUtils.isPresent(REDIS_FACTORY, loader)
                ? ClassUtils.resolveClassName(REDIS_FACTORY, loader)
                : Void.class;
    }

    /** Meters for the application's MeterRegistry: a listener of the kit. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    @ConditionalOnBean(MeterRegistry.class)
    static class Metrics {
        @Bean
        @ConditionalOnMissingBean
        DrMetrics drkitMetrics(MeterRegistry registry, ObjectProvider<Clock> clock) {
            return new DrMetrics(registry, clock.getIfAvailable(Clock::systemUTC));
        }

        /** The gauges from the repository's status at start-up and once a minute. */
        @Bean
        DrkitMetricsRefresher drkitMetricsRefresher(DrKit drKit, DrkitSetup drkitSetup, DrMetrics drkitMetrics) {
            return new DrkitMetricsRefresher(drKit, drkitSetup.objectives(), drkitMetrics);
        }
    }
}
