package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code drill --database-size}: sizes as the settings take them, and usage errors for the rest. */
class DatabaseSizeConverterTest {

    @ParameterizedTest
    @CsvSource({"100MB, 104857600", "1GB, 1073741824", "4GiB, 4294967296", "64M, 67108864", "16MiB, 16777216"})
    void acceptsSizesWithBinaryUnits(String given, long bytes) {
        assertThat(DatabaseSizeConverter.parse(given)).isEqualTo(bytes);
    }

    @Test
    void refusesWhatIsNotASizeOrTooSmall() {
        assertThatThrownBy(() -> DatabaseSizeConverter.parse("1XB"))
                .isInstanceOf(CommandLine.TypeConversionException.class)
                .hasMessage("'1XB' is not a size the drill can load; give e.g. 100MB, 1GB or 4GiB (binary units: "
                        + "1GB is 1024 MiB)");
        assertThatThrownBy(() -> DatabaseSizeConverter.parse("99999999999T")).hasMessageContaining("not a size");
        assertThatThrownBy(() -> DatabaseSizeConverter.parse("0"))
                .hasMessage("'0' is too small: the sample database needs at least 16MiB; give e.g. 100MB or 1GB");
        assertThatThrownBy(() -> DatabaseSizeConverter.parse("15MiB")).hasMessageContaining("too small");
    }

    @Test
    void theDrillExitsTwoWithAMessageNamingTheOption() {
        Run zero = drill("--database-size", "0");
        assertThat(zero.exit).isEqualTo(2);
        assertThat(zero.err)
                .startsWith("Invalid value for option '--database-size': '0' is too small")
                .doesNotContain("Exception");
        Run unit = drill("--database-size", "1XB");
        assertThat(unit.exit).isEqualTo(2);
        assertThat(unit.err).startsWith("Invalid value for option '--database-size': '1XB' is not a size");
        Run huge = drill("--database-size", "1000000GiB");
        assertThat(huge.exit).isEqualTo(2);
        assertThat(huge.err)
                .startsWith("the drill on a 977 TiB sample needs about")
                .contains("give a smaller --database-size or a --dir on a larger disk");
        Run both = drill("--skip-database", "--database-size", "1GB");
        assertThat(both.exit).isEqualTo(2);
        assertThat(both.err).startsWith("--database-size sizes the database scenarios; leave out --skip-database");
    }

    private record Run(int exit, String err) {}

    private static Run drill(String... options) {
        StringWriter err = new StringWriter();
        CommandLine cli = DrkitCli.commandLine();
        cli.setErr(new PrintWriter(err));
        cli.setOut(new PrintWriter(new StringWriter()));
        String[] args = new String[options.length + 1];
        args[0] = "drill";
        System.arraycopy(options, 0, args, 1, options.length);
        return new Run(cli.execute(args), err.toString());
    }
}
