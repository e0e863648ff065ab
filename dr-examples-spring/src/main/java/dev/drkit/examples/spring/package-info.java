/**
 * An example Spring Boot application (a small shop) that backs up its own PostgreSQL database
 * with {@code dr-spring-boot-starter}: the starter's configuration is all in
 * {@code application.yaml}. Sample code, not a library.
 */
package dev.drkit.examples.spring;
