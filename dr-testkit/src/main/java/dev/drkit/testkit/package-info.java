/**
 * Test support for hosts: restore fixtures for JUnit 5 ({@code PostgresFixture}, {@code RedisFixture},
 * {@code BucketFixture}), real servers started on loopback ({@code PostgresServer}, S3 and Redis), and
 * the SPI contract suites every implementation proves itself against.
 */
package dev.drkit.testkit;
