package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ScratchDatabasesTest {
    @Test
    void aNameSaysWhichProcessOfWhichHostMadeIt() {
        String name = ScratchDatabases.name("1a2b3c4d", 4_194_304, 1_796_463_762_530L);
        assertThat(name)
                .startsWith("drkit_verify_1a2b3c4d_4194304_1796463762530_")
                .hasSizeLessThanOrEqualTo(63);
        assertThat(ScratchDatabases.maker(name))
                .contains(new ScratchDatabases.Maker("1a2b3c4d", 4_194_304, 1_796_463_762_530L));
        assertThat(ScratchDatabases.newName()).hasSizeLessThanOrEqualTo(63); // PostgreSQL's identifier limit
        assertThat(ScratchDatabases.maker(ScratchDatabases.newName())
                        .orElseThrow()
                        .pid())
                .isEqualTo(ProcessHandle.current().pid());
        assertThat(ScratchDatabases.name("1a2b3c4d", 1, 2)).isNotEqualTo(ScratchDatabases.name("1a2b3c4d", 1, 2));
    }

    @Test
    void namesOfAnyOtherFormTellNoMaker() {
        assertThat(ScratchDatabases.maker("drkit_verify_0123456789ab")).isEmpty(); // the older form
        assertThat(ScratchDatabases.maker("shop")).isEmpty();
        assertThat(ScratchDatabases.maker("drkit_verify_1a2b3c4d_99999999999999999999_1_abcdef"))
                .isEmpty();
        assertThat(ScratchDatabases.maker("drkit_verify_1A2B3C4D_1_2_abcdef")).isEmpty();
        assertThat(ScratchDatabases.maker("drkit_verify_1a2b3c4d_1_2_abcdef; DROP DATABASE x"))
                .isEmpty();
    }

    @Test
    void theHostIsEightHexDigits() {
        assertThat(ScratchDatabases.host()).matches("[0-9a-f]{8}").isEqualTo(ScratchDatabases.host());
    }
}
