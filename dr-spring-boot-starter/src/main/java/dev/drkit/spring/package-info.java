/**
 * Spring Boot auto-configuration for drkit (public): one {@link dev.drkit.DrKit} built from
 * {@code drkit.*} properties with the same keys and checks as the setup file, the application's
 * {@code DataSource} and Redis connection for the targets that use them, the scheduler in the
 * application's lifecycle, an Actuator health indicator and {@code drkit} endpoint, and Micrometer
 * meters. Everything here backs off when the application defines its own {@code DrKit} bean.
 */
package dev.drkit.spring;
