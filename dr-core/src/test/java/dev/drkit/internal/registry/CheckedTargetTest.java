package dev.drkit.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.BackupTarget;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wrapper drkit puts around every provider's target passes on all that the target says of itself. */
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
}
