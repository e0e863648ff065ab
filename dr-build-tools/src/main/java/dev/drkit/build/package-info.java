/**
 * Steps of drkit's own build, run by Maven while it packages the CLI ({@code UpgradeClassFiles}).
 *
 * <p>Internal to drkit's build: not an API and never shipped. Nothing here is promised to stay,
 * keep its name or behave the same in the next release; hosts and providers never see it.
 */
package dev.drkit.build;
