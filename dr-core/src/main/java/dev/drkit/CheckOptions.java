package dev.drkit;

/**
 * What a repository check ({@link DrKit#check}) does besides reading the catalog.
 *
 * @param readData re-read every stored object (artifacts and archived files) and compare it
 *        with its recorded size and sha256; without it, objects are only looked up
 * @param subsetPart with {@code subsetParts}: re-read only part {@code subsetPart} (1-based) of
 *        {@code subsetParts} equal parts, so that reading everything is spread over several
 *        runs (each object belongs to one part, always the same)
 * @param subsetParts how many parts the data is split into; 1 reads everything
 * @param repair remove what no backup needs (objects of no backup, incomplete backups and
 *        uploads older than the lock lease, stale locks), write missing checksum files from
 *        verified data, and replace a damaged repository configuration; a listed backup is
 *        never deleted
 */
public record CheckOptions(boolean readData, int subsetPart, int subsetParts, boolean repair) {
    public CheckOptions {
        if (subsetParts < 1 || subsetPart < 1 || subsetPart > subsetParts) {
            throw new ConfigException("read-data subset " + subsetPart + "/" + subsetParts
                    + " is not valid: give N/M with 1 <= N <= M, e.g. 1/7");
        }
    }

    /** Reads the catalog and looks every object up, reads no data, repairs nothing. */
    public static CheckOptions catalogOnly() {
        return new CheckOptions(false, 1, 1, false);
    }

    /** Also re-reads every stored object. */
    public static CheckOptions readAllData() {
        return new CheckOptions(true, 1, 1, false);
    }

    /** These options, repairing what can be repaired. */
    public CheckOptions withRepair() {
        return new CheckOptions(readData, subsetPart, subsetParts, true);
    }

    /**
     * Parses a subset {@code N/M} (e.g. {@code 3/7}).
     *
     * @throws ConfigException when it is not of that form
     */
    public static CheckOptions readDataSubset(String subset) {
        String[] parts = subset == null ? new String[0] : subset.trim().split("/", -1);
        try {
            if (parts.length == 2) {
                return new CheckOptions(
                        true, Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()), false);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ConfigException(
                "read-data subset '" + subset + "' is not valid: give N/M, e.g. 1/7 for the first " + "of seven parts");
    }
}
