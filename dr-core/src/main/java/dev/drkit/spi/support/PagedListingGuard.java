package dev.drkit.spi.support;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Checks that the pages of one listing from a remote store add up, so that a broken or hostile
 * server can neither keep a listing paging for ever nor have a partial listing taken for whole
 * (from which a prune would decide what is unreferenced). A listing fails when a page says it
 * is truncated but names no marker to go on from, when a marker comes back that was used
 * before, or when an entry comes twice.
 *
 * <p>The backend reads the pages with its own client and tells this guard plain values: for
 * each entry, its key ({@link #key}) or its key and upload id ({@link #upload}); for each page,
 * the marker it was asked for with, the marker it names for the next one, and whether it says
 * it is truncated ({@link #page(String, String, boolean)} for an object listing's continuation
 * token, {@link #page(String, String, String, String, boolean)} for a multipart-upload listing's
 * key and upload id markers). A listing the client pages through itself can be fed its entries
 * alone.
 *
 * <p>Every failure is a {@link StorageIOException} with {@link Reason#OTHER}, not retryable (the
 * same server pages the same way again), whose message says what was being done, in which
 * storage, and how the pages failed to add up. One guard per listing; not thread-safe.
 */
public final class PagedListingGuard {
    private static final String SEP = "\n";

    private final String doing;
    private final String storage;
    private final Set<String> markersUsed = new HashSet<>();
    private final Set<String> entries = new HashSet<>();

    /**
     * @param doing what the listing is for, for messages: {@code "listing backups/"}
     * @param storage the storage as its backend describes it, for messages
     */
    public PagedListingGuard(String doing, String storage) {
        this.doing = Objects.requireNonNull(doing, "doing");
        this.storage = Objects.requireNonNull(storage, "storage");
    }

    /**
     * An object listing's entry.
     *
     * @param key the key as the server listed it, not null
     * @throws StorageIOException when this listing named the key before
     */
    public void key(String key) throws StorageIOException {
        if (!entries.add(key)) {
            throw notAddingUp("it listed " + TarEntryReader.printable(key) + " twice");
        }
    }

    /**
     * A multipart-upload listing's entry.
     *
     * @param key the key the upload is for, not null
     * @param uploadId the upload's id, as the server listed it
     * @throws StorageIOException when this listing named the same upload before
     */
    public void upload(String key, String uploadId) throws StorageIOException {
        if (!entries.add(key + SEP + uploadId)) {
            throw notAddingUp("it listed the upload " + TarEntryReader.printable(String.valueOf(uploadId)) + " of "
                    + TarEntryReader.printable(key) + " twice");
        }
    }

    /**
     * A page of an object listing, read after its entries.
     *
     * @param tokenUsed the continuation token the page was asked for with, null for the first page
     * @param nextToken the continuation token the page names for the next one, or null
     * @param truncated whether the page says more pages follow
     * @return whether the listing goes on: {@code truncated}
     * @throws StorageIOException when the page is truncated without a next token, or with one that
     *     was used before
     */
    public boolean page(String tokenUsed, String nextToken, boolean truncated) throws StorageIOException {
        return check(tokenUsed, nextToken, nextToken, truncated, "a continuation token", "was");
    }

    /**
     * A page of a multipart-upload listing, read after its entries; the two markers go together.
     *
     * @param keyMarkerUsed the key marker the page was asked for with, null for the first page
     * @param uploadIdMarkerUsed the upload id marker the page was asked for with, or null
     * @param nextKeyMarker the key marker the page names for the next one, or null
     * @param nextUploadIdMarker the upload id marker the page names for the next one, or null
     * @param truncated whether the page says more pages follow
     * @return whether the listing goes on: {@code truncated}
     * @throws StorageIOException when the page is truncated without a next key marker, or with
     *     markers that were used before
     */
    public boolean page(
            String keyMarkerUsed,
            String uploadIdMarkerUsed,
            String nextKeyMarker,
            String nextUploadIdMarker,
            boolean truncated)
            throws StorageIOException {
        String used = keyMarkerUsed == null ? null : keyMarkerUsed + SEP + uploadIdMarkerUsed;
        return check(used, nextKeyMarker, nextKeyMarker + SEP + nextUploadIdMarker, truncated, "markers", "were");
    }

    /**
     * @param nextKey the part of the next marker a page cannot go on without
     * @param marker the marker in words, for messages, and {@code was} the verb that goes with it
     */
    private boolean check(String used, String nextKey, String next, boolean truncated, String marker, String was)
            throws StorageIOException {
        if (used != null) {
            markersUsed.add(used);
        }
        if (!truncated) {
            return false;
        }
        if (nextKey == null || nextKey.isEmpty()) {
            // a listing taken for whole while it is not would have a prune collect what it still needs
            throw notAddingUp("a truncated page without " + marker + " to go on from: the listing was cut short");
        }
        if (markersUsed.contains(next)) {
            // paging on would never end, the listing growing by a page each round
            throw notAddingUp(marker + " came back that " + was + " used before");
        }
        return true;
    }

    private StorageIOException notAddingUp(String what) {
        return new StorageIOException(
                doing + " in " + storage + " failed: the server's pages do not add up (" + what
                        + "); the storage does not list as S3 does",
                null,
                Reason.OTHER,
                false);
    }
}
