import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key: 'redis') {
    const indicator = this.indicators.check(key);
    try {
      await this.store.ping();
      return indicator.up({ driver: this.store.driver });
    } catch {
      return indicator.down({ driver: this.store.driver });
    }
  }
}
