import { Inject, Injectable } from '@nestjs/common';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { JwtCodec, type SessionClaims } from './jwt-codec.service';
import { SESSION_REVOKED_CHANNEL, sessionKey, userSessionsKey } from './session-token.service';

export const MAX_BATCH = 1000;

/** Session-token operations over many tokens, each in one round trip to Redis. */
@Injectable()
export class BatchTokenOperations {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly codec: JwtCodec,
  ) {}

  /** For each token, its claims when it is a live session, else null; in input order. */
  async validateTokens(tokens: readonly unknown[]): Promise<(SessionClaims | null)[]> {
    assertBatchSize(tokens.length);
    const claims = tokens.map((token) => this.codec.verify(token));
    const live = claims.filter((c): c is SessionClaims => c !== null);
    if (live.length === 0) return claims;
    const batch = this.store.pipeline();
    for (const c of live) batch.hgetall(sessionKey(c.user_id, c.jti));
    const records = await batch.exec();
    const alive = new Set(live.filter((_, i) => isPresent(records[i])));
    return claims.map((c) => (c && alive.has(c) ? c : null));
  }

  /** Revokes every live session among the tokens; returns how many were revoked. */
  async revokeTokens(tokens: readonly unknown[]): Promise<number> {
    assertBatchSize(tokens.length);
    const claims = tokens
      .map((token) => this.codec.verify(token))
      .filter((c): c is SessionClaims => c !== null);
    if (claims.length === 0) return 0;
    const removal = this.store.multi();
    for (const c of claims) {
      removal.del(sessionKey(c.user_id, c.jti)).srem(userSessionsKey(c.user_id), c.jti);
    }
    const results = await removal.exec();
    const revoked = claims.filter((_, i) => results[i * 2] === 1);
    if (revoked.length > 0) {
      const announce = this.store.pipeline();
      for (const c of revoked) {
        announce.publish(
          SESSION_REVOKED_CHANNEL,
          JSON.stringify({ user_id: c.user_id, jti: c.jti }),
        );
      }
      await announce.exec();
    }
    return revoked.length;
  }

  /**
   * Drops `user_sessions` members whose session entry has expired, scanning in batches (SCAN, never
   * KEYS). Returns how many members were removed.
   */
  async cleanupExpiredSessions(scanCount = 200): Promise<number> {
    let removed = 0;
    for await (const keys of this.store.scan(userSessionsKey('*'), scanCount)) {
      for (const setKey of keys) {
        const userId = setKey.slice(userSessionsKey('').length);
        const jtis = await this.store.smembers(setKey);
        if (jtis.length === 0) continue;
        const lookup = this.store.pipeline();
        for (const jti of jtis) lookup.hgetall(sessionKey(userId, jti));
        const records = await lookup.exec();
        const stale = jtis.filter((_, i) => !isPresent(records[i]));
        if (stale.length > 0) removed += await this.store.srem(setKey, ...stale);
      }
    }
    return removed;
  }
}

function isPresent(record: unknown): boolean {
  return typeof record === 'object' && record !== null && !(record instanceof Error);
}

function assertBatchSize(size: number): void {
  if (size > MAX_BATCH) throw new RangeError(`at most ${MAX_BATCH} tokens per batch`);
}
