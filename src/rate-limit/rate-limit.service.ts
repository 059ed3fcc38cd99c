import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, type RateLimitName } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

export interface RateLimitVerdict {
  allowed: boolean;
  /** Seconds until the caller may try again; 0 when allowed. */
  retryAfterSeconds: number;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Fixed-window counters in the shared store, so that a limit holds across every instance. The
 * counter is created with its TTL in the same transaction that increments it, so it can never be
 * left without one. Going over the limit blocks the caller for one whole window from then on.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly config: AppConfig,
  ) {}

  async hit(name: RateLimitName, tracker: string): Promise<RateLimitVerdict> {
    const { limit, windowSeconds } = this.config.rateLimits[name];
    const windowMs = windowSeconds * 1000;
    const hitsKey = `rate:${name}:${tracker}`;
    const blockKey = `rate_block:${name}:${tracker}`;

    const blockedFor = await this.store.pttl(blockKey);
    if (blockedFor > 0) return { allowed: false, retryAfterSeconds: seconds(blockedFor) };

    const [, hits] = await this.store
      .multi()
      .set(hitsKey, '0', { ttlMs: windowMs, onlyIfAbsent: true })
      .incr(hitsKey)
      .exec();
    if (hits instanceof Error) throw hits;
    if (Number(hits) <= limit) return { allowed: true, retryAfterSeconds: 0 };

    await this.store.set(blockKey, '1', { ttlMs: windowMs, onlyIfAbsent: true });
    const blockLeft = await this.store.pttl(blockKey);
    return { allowed: false, retryAfterSeconds: seconds(blockLeft > 0 ? blockLeft : windowMs) };
  }
}
