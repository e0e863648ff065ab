package dev.drkit.redis;

import dev.drkit.spi.VerifierProvider;

class RedisRdbVerifierContractIT extends RedisVerifierContract {
    @Override
    protected VerifierProvider provider() {
        return new RedisVerifiers.RdbProvider();
    }
}
