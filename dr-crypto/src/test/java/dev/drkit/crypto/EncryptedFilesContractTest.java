package dev.drkit.crypto;

import dev.drkit.DrKit;
import dev.drkit.testkit.FilesTargetContractSupport;

/** The whole backup target contract, with every artifact OpenPGP-encrypted. */
class EncryptedFilesContractTest extends FilesTargetContractSupport {
    @Override
    protected DrKit.Builder configure(DrKit.Builder builder) throws Exception {
        PgpKeys.Generated keys = TestKeys.pair();
        return builder.encryption(PgpEncryption.builder()
                        .recipient(TestKeys.encryptionKey(keys))
                        .build())
                .decryption(PgpDecryption.builder()
                        .secretKeys(TestKeys.secretKeys(keys))
                        .build());
    }
}
