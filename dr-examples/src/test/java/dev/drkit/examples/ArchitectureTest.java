package dev.drkit.examples;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaPackage;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package map, enforced. Hosts use the public packages; provider modules and tools use the SPI
 * and {@code dev.drkit.spi.support}; {@code dev.drkit.internal..} belongs to dr-core alone.
 */
class ArchitectureTest {

    /** What hosts may import: the facade, the SPI and the documented packages of each module. */
    static final String[] PUBLIC = {
        "dev.drkit",
        "dev.drkit.spi",
        "dev.drkit.files..",
        "dev.drkit.storage..",
        "dev.drkit.retention..",
        "dev.drkit.notify..",
        "dev.drkit.verify..",
        "dev.drkit.failover..",
        "dev.drkit.setup..",
        "dev.drkit.scheduler..",
        "dev.drkit.micrometer..",
        "dev.drkit.spring..",
        "dev.drkit.crypto..",
        "dev.drkit.postgres..",
        "dev.drkit.redis..",
        "dev.drkit.s3..",
        "dev.drkit.minio..",
        "dev.drkit.testkit.."
    };

    /** dr-core's packages that may use its internals (the internals themselves included). */
    static final String[] CORE_API = {
        "dev.drkit",
        "dev.drkit.files..",
        "dev.drkit.storage..",
        "dev.drkit.retention..",
        "dev.drkit.notify..",
        "dev.drkit.verify..",
        "dev.drkit.internal.."
    };

    static JavaClasses main;

    @BeforeAll
    static void importClasses() {
        main = new ClassFileImporter()
                // the other modules are directories under `test` and jars under `verify`: both count
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.drkit");
        // a rule over too few classes passes for the wrong reason: every module must be there
        Set<String> packages = new TreeSet<>();
        main.forEach(c -> packages.add(c.getPackageName()));
        assertThat(packages)
                .contains(
                        "dev.drkit",
                        "dev.drkit.spi.support",
                        "dev.drkit.internal.repo",
                        "dev.drkit.postgres",
                        "dev.drkit.redis",
                        "dev.drkit.s3",
                        "dev.drkit.minio",
                        "dev.drkit.crypto",
                        "dev.drkit.testkit",
                        "dev.drkit.setup",
                        "dev.drkit.scheduler",
                        "dev.drkit.micrometer",
                        "dev.drkit.spring",
                        "dev.drkit.examples.cli",
                        "dev.drkit.examples.host");
    }

    @Test
    void onlyDrCoreUsesItsInternals() {
        noClasses()
                .that()
                .resideOutsideOfPackages(CORE_API)
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.drkit.internal..")
                .because("dev.drkit.internal promises nothing; modules and tools use dev.drkit.spi.support")
                .check(main);
    }

    @Test
    void theSpiAndItsSupportStandAlone() {
        noClasses()
                .that()
                .resideInAPackage("dev.drkit.spi..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "dev.drkit.internal..",
                        "dev.drkit.files..",
                        "dev.drkit.storage..",
                        "dev.drkit.retention..",
                        "dev.drkit.notify..",
                        "dev.drkit.verify..")
                .check(main);
    }

    @Test
    void hostExamplesUseOnlyPublicPackages() {
        classes()
                .that()
                .resideInAPackage("dev.drkit.examples.host..")
                .or()
                .haveSimpleName("EmbeddingExample")
                .should()
                .onlyDependOnClassesThat(DescribedPredicate.describe(
                        "are not in drkit or are in its public packages",
                        (JavaClass c) -> !c.getPackageName().startsWith("dev.drkit")
                                || c.getPackageName().startsWith("dev.drkit.examples")
                                || isPublicApi(c)))
                .check(main);
    }

    @Test
    void toolsDoNotUseInternals() {
        noClasses()
                .that()
                .resideInAPackage("dev.drkit.examples..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.drkit.internal..")
                .check(main);
    }

    /**
     * What a public class offers (public and protected members of public classes in the public
     * packages) names only public types: a host never needs an internal or support class to call
     * the API.
     */
    @Test
    void publicSignaturesExposeNoInternalOrSupportType() {
        classes()
                .that()
                .resideInAnyPackage(PUBLIC)
                .and()
                .arePublic()
                .should(exposeOnlyPublicTypes())
                .check(main);
    }

    @Test
    void everyPackageSaysWhatItPromises() {
        List<String> missing = new ArrayList<>();
        Set<String> seen = new TreeSet<>();
        for (JavaClass c : main) {
            JavaPackage p = c.getPackage();
            if (p.getName().startsWith("dev.drkit.examples") || !seen.add(p.getName())) {
                continue;
            }
            if (p.tryGetPackageInfo().isEmpty()) {
                missing.add(p.getName());
            }
        }
        assertThat(missing)
                .as("packages without a package-info.java saying whether they are API")
                .isEmpty();
    }

    private static boolean isPublicApi(JavaClass c) {
        String p = c.getPackageName();
        return !p.startsWith("dev.drkit.internal") && !p.startsWith("dev.drkit.spi.support");
    }

    private static ArchCondition<JavaClass> exposeOnlyPublicTypes() {
        return new ArchCondition<>("expose only public drkit types") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                for (JavaMember m : item.getMembers()) {
                    if (!visible(m)) {
                        continue;
                    }
                    List<JavaClass> types = new ArrayList<>();
                    if (m instanceof JavaCodeUnit u) {
                        types.add(u.getRawReturnType());
                        types.addAll(u.getRawParameterTypes());
                    } else if (m instanceof JavaField f) {
                        types.add(f.getRawType());
                    }
                    for (JavaClass t : types) {
                        JavaClass base = t.isArray() ? t.getBaseComponentType() : t;
                        if (base.getPackageName().startsWith("dev.drkit") && !isPublicApi(base)) {
                            events.add(
                                    SimpleConditionEvent.violated(m, m.getFullName() + " exposes " + base.getName()));
                        }
                    }
                }
            }
        };
    }

    private static boolean visible(JavaMember m) {
        Set<JavaModifier> mods = m.getModifiers();
        return mods.contains(JavaModifier.PUBLIC) || mods.contains(JavaModifier.PROTECTED);
    }
}
