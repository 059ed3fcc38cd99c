import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, type RateLimitName } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

export interface RateLimitVerdict {
  allowed: boolean;
  /** Seconds until the caller may try again; 0 when allowed. */
  retryAfterSeconds: number;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
const ALLOWED: RateLimitVerdict = { allowed: true, retryAfterSeconds: 0 };
const refused = (ms: number): RateLimitVerdict => ({
  allowed: false,
  retryAfterSeconds: seconds(ms),
});

/**
 * Fixed-window counters in the shared store, so that a limit holds across every instance. The
 * counter is created with its TTL in the same transaction that increments it, so it can never be
 * left without one. Going over the limit blocks the caller for one whole window from then on.
 *
 * `hit` counts an attempt as it is made. `peek` and `record` count events known only afterwards
 * (a wrong password): `peek` before, `record` once the event happened, and reaching the limit
 * blocks for one whole window.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly config: AppConfig,
  ) {}

  async hit(name: RateLimitName, tracker: string): Promise<RateLimitVerdict> {
    const { limit } = this.config.rateLimits[name];
    const blockedFor = await this.store.pttl(this.blockKey(name, tracker));
    if (blockedFor > 0) return refused(blockedFor);
    if ((await this.count(name, tracker)) <= limit) return ALLOWED;
    return refused(await this.block(name, tracker));
  }

  /** Whether one more event is allowed, without counting it. */
  async peek(name: RateLimitName, tracker: string): Promise<RateLimitVerdict> {
    const { limit, windowSeconds } = this.config.rateLimits[name];
    const blockedFor = await this.store.pttl(this.blockKey(name, tracker));
    if (blockedFor > 0) return refused(blockedFor);
    const hitsKey = this.hitsKey(name, tracker);
    if (Number((await this.store.get(hitsKey)) ?? 0) < limit) return ALLOWED;
    // Reached by records racing with the block that follows them: refused until the window ends.
    const windowLeft = await this.store.pttl(hitsKey);
    return refused(windowLeft > 0 ? windowLeft : windowSeconds * 1000);
  }

  /** Counts an event that has happened; the one that reaches the limit blocks the caller. */
  async record(name: RateLimitName, tracker: string): Promise<void> {
    if ((await this.count(name, tracker)) >= this.config.rateLimits[name].limit) {
      await this.block(name, tracker);
    }
  }

  /** Forgets the caller's count and block for this limit. */
  async reset(name: RateLimitName, tracker: string): Promise<void> {
    await this.store.del(this.hitsKey(name, tracker), this.blockKey(name, tracker));
  }

  private async count(name: RateLimitName, tracker: string): Promise<number> {
    const hitsKey = this.hitsKey(name, tracker);
    const [, hits] = await this.store
      .multi()
      .set(hitsKey, '0', { ttlMs: this.windowMs(name), onlyIfAbsent: true })
      .incr(hitsKey)
      .exec();
    if (hits instanceof Error) throw hits;
    return Number(hits);
  }

  /** Blocks the caller for a whole window (unless already blocked); returns the ms left. */
  private async block(name: RateLimitName, tracker: string): Promise<number> {
    const blockKey = this.blockKey(name, tracker);
    await this.store.set(blockKey, '1', { ttlMs: this.windowMs(name), onlyIfAbsent: true });
    const blockLeft = await this.store.pttl(blockKey);
    return blockLeft > 0 ? blockLeft : this.windowMs(name);
  }

  private windowMs(name: RateLimitName): number {
    return this.config.rateLimits[name].windowSeconds * 1000;
  }

  private hitsKey(name: RateLimitName, tracker: string): string {
    return `rate:${name}:${tracker}`;
  }

  private blockKey(name: RateLimitName, tracker: string): string {
    return `rate_block:${name}:${tracker}`;
  }
}
