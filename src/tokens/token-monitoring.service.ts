import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { REDIS_STORE, type RedisStore, type StoreMemoryUsage } from '../infra/redis/redis-store';

/** The token key families (README, "Tokens"), by the pattern their keys match. */
const TOKEN_TYPES = {
  session: 'session:*',
  verification: 'verification:*',
  oauth_access: 'oauth_access:*',
  oauth_refresh: 'oauth_refresh:*',
  oauth_state: 'oauth_state:*',
  sse_ticket: 'sse_ticket:*',
} as const;

export type TokenType = keyof typeof TOKEN_TYPES;

@Injectable()
export class TokenMonitoring {
  constructor(@Inject(REDIS_STORE) private readonly store: RedisStore) {}

  /** Live tokens per type. A full SCAN: meant for admin views and probes, not for hot paths. */
  async activeTokens(): Promise<Record<TokenType, number>> {
    const entries = await Promise.all(
      (Object.keys(TOKEN_TYPES) as TokenType[]).map(async (type) => {
        let count = 0;
        for await (const keys of this.store.scan(TOKEN_TYPES[type], 500)) count += keys.length;
        return [type, count] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<TokenType, number>;
  }

  /** Memory of the store holding the tokens (Redis INFO memory, or the process heap when embedded). */
  memory(): Promise<StoreMemoryUsage> {
    return this.store.memoryUsage();
  }

  /** Writes, reads back and deletes a probe key: proves the token store can do its job. */
  async healthCheck(): Promise<boolean> {
    const key = `health:probe:${randomUUID()}`;
    const value = randomUUID();
    try {
      await this.store.set(key, value, { ttlMs: 10_000 });
      const read = await this.store.get(key);
      const deleted = await this.store.del(key);
      return read === value && deleted === 1;
    } catch {
      return false;
    }
  }
}
