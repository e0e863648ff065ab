package dev.drkit.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The wrappers drkit puts around every provider and its targets pass on all that the provider and
 * the target say of themselves.
 */
class CheckedTargetTest {
    @Test
    void everyDefaultMethodOfTheSpiIsPassedOnToTheTarget() throws Exception {
        Class<?> checked = Class.forName(CheckedProviders.class.getName() + "$CheckedTarget");
        List<String> missing = new ArrayList<>();
        for (Method m : BackupTarget.class.getMethods()) {
            if (!m.isDefault() || Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            Method there = checked.getMethod(m.getName(), m.getParameterTypes());
            if (there.getDeclaringClass() != checked) {
                missing.add(m.getName()); // the SPI's default would answer, whatever the target says
            }
        }
        assertThat(missing).isEmpty();
    }

    @Test
    void everyDefaultMethodOfTheProviderSpiIsPassedOnToTheProvider() throws Exception {
        Class<?> checked =
                CheckedProviders.target(new FilesBackupTargetProvider()).getClass();
        List<String> missing = new ArrayList<>();
        for (Method m : BackupTargetProvider.class.getMethods()) {
            if (!m.isDefault() || Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            Method there = checked.getMethod(m.getName(), m.getParameterTypes());
            if (there.getDeclaringClass() != checked) {
                missing.add(m.getName()); // the SPI's default would answer, whatever the provider says
            }
        }
        assertThat(missing).isEmpty();
    }
}
