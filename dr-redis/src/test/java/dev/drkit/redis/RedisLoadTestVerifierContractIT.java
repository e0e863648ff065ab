package dev.drkit.redis;

import dev.drkit.spi.VerifierProvider;

class RedisLoadTestVerifierContractIT extends RedisVerifierContract {
    @Override
    protected VerifierProvider provider() {
        return new RedisVerifiers.LoadTestProvider();
    }
}
