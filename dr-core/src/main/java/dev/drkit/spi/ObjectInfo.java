package dev.drkit.spi;

import java.time.Instant;

/**
 * What a backend knows of one stored object.
 *
 * @param key the object's key
 * @param size its size in bytes
 * @param lastModified when it was committed, as the storage reports it
 */
public record ObjectInfo(String key, long size, Instant lastModified) {}
