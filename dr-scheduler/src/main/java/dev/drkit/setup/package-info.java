/**
 * The declarative setup file ({@code drkit.yaml}): repository, targets, schedules, retention,
 * verification, objectives, copies and notifications, checked with line numbers.
 */
package dev.drkit.setup;
