package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import org.junit.jupiter.api.Test;

/** The paging checks on listings scripted page by page, as a backend feeds them. */
class PagedListingGuardTest {
    final PagedListingGuard guard = new PagedListingGuard("listing backups/", "s3://bkt/repo");

    @Test
    void anObjectListingOfSeveralPagesGoesOnWhileTruncatedAndEndsOnTheLastPage() throws Exception {
        guard.key("repo/backups/a");
        guard.key("repo/backups/b");
        assertThat(guard.page(null, "t1", true))
                .as("after a truncated first page")
                .isTrue();
        guard.key("repo/backups/c");
        assertThat(guard.page("t1", "t2", true))
                .as("after a truncated second page")
                .isTrue();
        guard.key("repo/backups/d");
        assertThat(guard.page("t2", null, false)).as("after the last page").isFalse();
    }

    @Test
    void anUploadListingOfSeveralPagesGoesOnWhileTruncatedAndEndsOnTheLastPage() throws Exception {
        guard.upload("repo/backups/t/1/x", "u1");
        guard.upload("repo/backups/t/1/x", "u2");
        assertThat(guard.page(null, null, "repo/backups/t/1/x", "u2", true)).isTrue();
        guard.upload("repo/backups/t/1/x", "u3");
        guard.upload("repo/backups/t/2/y", "u1");
        assertThat(guard.page("repo/backups/t/1/x", "u2", "repo/backups/t/2/y", "u1", true))
                .isTrue();
        // a last page may name markers (its last entry), used before or not: it ends the listing
        assertThat(guard.page("repo/backups/t/2/y", "u1", "repo/backups/t/2/y", "u1", false))
                .isFalse();
    }

    @Test
    void aKeyListedTwiceFailsAndSaysWhichAndWhere() throws Exception {
        guard.key("repo/backups/a");
        guard.page(null, "t1", true);
        assertThatThrownBy(() -> guard.key("repo/backups/a"))
                .isInstanceOf(StorageIOException.class)
                .hasMessageContaining("listing backups/ in s3://bkt/repo failed")
                .hasMessageContaining("pages do not add up")
                .hasMessageContaining("repo/backups/a twice")
                .hasMessageContaining("does not list as S3 does")
                .satisfies(e -> assertNotRetryable((StorageIOException) e));
    }

    @Test
    void aKeyWithAControlCharacterIsPrintedEscaped() throws Exception {
        guard.key("a\nb");
        assertThatThrownBy(() -> guard.key("a\nb"))
                .isInstanceOf(StorageIOException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void anUploadListedTwiceFails() throws Exception {
        guard.upload("repo/backups/t/1/x", "u1");
        guard.upload("repo/backups/t/1/x", "u2");
        assertThatThrownBy(() -> guard.upload("repo/backups/t/1/x", "u1"))
                .isInstanceOf(StorageIOException.class)
                .hasMessageContaining("pages do not add up")
                .hasMessageContaining("the upload u1 of repo/backups/t/1/x twice");
    }

    @Test
    void aTruncatedPageWithoutAContinuationTokenFails() {
        for (String missing : new String[] {null, ""}) {
            PagedListingGuard g = new PagedListingGuard("listing backups/", "s3://bkt/repo");
            assertThatThrownBy(() -> g.page(null, missing, true))
                    .as("token %s", missing == null ? "absent" : "empty")
                    .isInstanceOf(StorageIOException.class)
                    .hasMessageContaining("listing backups/ in s3://bkt/repo failed")
                    .hasMessageContaining("pages do not add up")
                    .hasMessageContaining("without a continuation token to go on from")
                    .hasMessageContaining("cut short")
                    .satisfies(e -> assertNotRetryable((StorageIOException) e));
        }
    }

    @Test
    void aTruncatedUploadPageWithoutAKeyMarkerFails() {
        assertThatThrownBy(() -> guard.page(null, null, "", "u1", true))
                .isInstanceOf(StorageIOException.class)
                .hasMessageContaining("pages do not add up")
                .hasMessageContaining("without markers to go on from");
    }

    @Test
    void aContinuationTokenThatNeverMovesFails() throws Exception {
        assertThat(guard.page(null, "same", true)).isTrue();
        assertThatThrownBy(() -> guard.page("same", "same", true))
                .isInstanceOf(StorageIOException.class)
                .hasMessageContaining("pages do not add up")
                .hasMessageContaining("a continuation token came back that was used before");
    }

    @Test
    void aContinuationTokenThatComesBackLaterFails() throws Exception {
        guard.page(null, "t1", true);
        guard.page("t1", "t2", true);
        assertThatThrownBy(() -> guard.page("t2", "t1", true))
                .isInstanceOf(StorageIOException.class)
                .hasMessageContaining("used before");
    }

    @Test
    void uploadMarkersThatNeverMoveFail() throws Exception {
        guard.page(null, null, "k", "u1", true);
        assertThatThrownBy(() -> guard.page("k", "u1", "k", "u1", true))
                .isInstanceOf(StorageIOException.class)
                .hasMessageContaining("markers came back that were used before");
    }

    @Test
    void theSameKeyMarkerWithAnotherUploadIdMarkerGoesOn() throws Exception {
        guard.page(null, null, "k", "u1", true);
        assertThat(guard.page("k", "u1", "k", "u2", true))
                .as("markers that moved within the uploads of one key")
                .isTrue();
    }

    private static void assertNotRetryable(StorageIOException e) {
        assertThat(e.reason()).isEqualTo(Reason.OTHER);
        assertThat(e.retryable()).as("retryable").isFalse();
    }
}
