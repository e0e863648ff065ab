package dev.drkit;

/**
 * What a prune's garbage collection of the deduplicated chunk store did (or, in a dry run,
 * would do).
 *
 * @param skipped why nothing was collected (another collection running, a backup holding its
 *     lock too long, a backup whose manifest or chunk list cannot be read), or null
 * @param packsDeleted packs removed whole: no kept backup needs any of their chunks
 * @param packsRewritten packs mostly garbage whose needed chunks were copied into new packs
 *     before they were removed
 * @param chunksRemoved chunks no kept backup needs, removed with their packs
 * @param bytesFreed stored bytes removed, less what rewriting stored again
 * @param orphanPacks packs without an index (left by a crash between a pack and its index)
 *     removed
 */
public record ChunkCollection(
        String skipped, int packsDeleted, int packsRewritten, long chunksRemoved, long bytesFreed, int orphanPacks) {

    /** Nothing collected, for the reason given. */
    public static ChunkCollection skipped(String why) {
        return new ChunkCollection(why, 0, 0, 0, 0, 0);
    }
}
