import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { TokenMonitoring } from '../tokens/token-monitoring.service';

/** Redis is "up" only when the token store can write, read back and delete a probe key. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly tokens: TokenMonitoring,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: 'redis') {
    const indicator = this.indicators.check(key);
    return (await this.tokens.healthCheck())
      ? indicator.up({ driver: this.store.driver })
      : indicator.down({ driver: this.store.driver });
  }
}
