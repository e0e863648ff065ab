package dev.drkit.spring;

import dev.drkit.DrKit;
import dev.drkit.Objectives;
import dev.drkit.TestSchedule;
import dev.drkit.micrometer.DrMetrics;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Actuator for drkit: the {@code drkit} health indicator and the {@code drkit} endpoint, for the
 * auto-configured kit or one the application defines itself (with the objectives of the
 * {@code drkit.*} properties when they were read).
 */
@AutoConfiguration(after = DrkitAutoConfiguration.class)
@ConditionalOnBean(DrKit.class)
public class DrkitActuatorAutoConfiguration {

    static Map<String, Objectives> objectives(ObjectProvider<DrkitSetup> setup) {
        DrkitSetup s = setup.getIfAvailable();
        return s == null ? Map.of() : s.objectives();
    }

    /** The health indicator, {@code management.health.drkit.enabled} (default true). */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    @ConditionalOnEnabledHealthIndicator("drkit")
    static class Health {
        @Bean
        @ConditionalOnMissingBean(name = "drkitHealthIndicator")
        DrkitHealthIndicator drkitHealthIndicator(
                DrKit drKit, ObjectProvider<DrkitSetup> setup, ObjectProvider<DrMetrics> metrics) {
            return new DrkitHealthIndicator(drKit, objectives(setup), metrics.getIfAvailable());
        }
    }

    /** The endpoint. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(Endpoint.class)
    static class Endpoints {
        @Bean
        @ConditionalOnMissingBean
        DrkitEndpoint drkitEndpoint(
                DrKit drKit, ObjectProvider<DrkitSetup> setup, ObjectProvider<DrkitSchedulerLifecycle> scheduler) {
            DrkitSetup s = setup.getIfAvailable();
            return new DrkitEndpoint(
                    drKit,
                    objectives(setup),
                    scheduler.getIfAvailable(),
                    s == null ? TestSchedule.plan() : s.setup().testing());
        }
    }
}
