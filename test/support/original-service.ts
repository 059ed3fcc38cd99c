import { createHmac } from 'node:crypto';
import type { RedisStore } from '../../src/infra/redis/redis-store';

/**
 * What the original platform's auth service writes (docs/CUT-OVER.md), made here by hand rather
 * than with this service's code: HS256 JWTs `{user_id, username, iat, exp}` without `jti`, and
 * session entries in its two Redis layouts.
 */

export interface OriginalTokenClaims {
  user_id: number;
  username: string;
  iat?: number;
  exp?: number;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT as the original service signs it: HS256 under the shared secret, no `jti`. */
export function originalToken(secret: string, claims: OriginalTokenClaims): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat: now, exp: now + 30 * 86_400, ...claims }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export interface OriginalSession {
  userId: number;
  username: string;
  token: string;
  createdAt: number;
  lastActivity: number;
  ttlSeconds: number;
  ip?: string;
  userAgent?: string;
}

/** The entry the original service keeps, in its current layout or the older one. */
export function originalSessionKeyOf(layout: 'current' | 'older', session: OriginalSession) {
  return layout === 'current'
    ? `session:${session.userId}:${session.token}`
    : `${session.userId}-${session.username}-${session.token}`;
}

/**
 * Writes a session the way the original service does: a hash with its fields and TTL, listed by
 * token in `user_sessions:{user_id}` (current layout), or under the older key alone.
 */
export async function writeOriginalSession(
  store: RedisStore,
  layout: 'current' | 'older',
  session: OriginalSession,
): Promise<string> {
  const key = originalSessionKeyOf(layout, session);
  const batch = store
    .multi()
    .hset(key, {
      user_id: String(session.userId),
      username: session.username,
      created_at: String(session.createdAt),
      last_activity: String(session.lastActivity),
      ip: session.ip ?? '203.0.113.7',
      user_agent: session.userAgent ?? 'OriginalApp/1.0',
    })
    .pexpire(key, session.ttlSeconds * 1000);
  if (layout === 'current') batch.sadd(`user_sessions:${session.userId}`, session.token);
  await batch.exec();
  return key;
}

/** Every key under the store's prefix (SCAN), for checks such as "no raw token in any key". */
export async function allKeys(store: RedisStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of store.scan('*', 1000)) keys.push(...batch);
  return keys;
}
