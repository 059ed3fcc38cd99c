import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { JwtCodec, type SessionClaims } from './jwt-codec.service';

/** Redis channel every instance listens on to close the streams of a revoked session. */
export const SESSION_REVOKED_CHANNEL = 'session:revoked';

/** `last_active` is written at most this often per session, so a hot path does not write each time. */
export const TOUCH_INTERVAL_SECONDS = 60;

export interface DeviceInfo {
  ip?: string | null;
  userAgent?: string | null;
}

export interface SessionData {
  userId: number;
  username: string;
  jti: string;
  createdAt: number;
  lastActive: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
}

export interface VerifiedSession extends SessionData {
  claims: SessionClaims;
}

export const sessionKey = (userId: number | string, jti: string) => `session:${userId}:${jti}`;
export const userSessionsKey = (userId: number | string) => `user_sessions:${userId}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Sessions: a JWT that names a Redis entry. The JWT alone never authenticates; deleting the entry
 * revokes the session everywhere at once, and every revocation is announced on `session:revoked`.
 */
@Injectable()
export class SessionTokenManager {
  private readonly logger = new Logger(SessionTokenManager.name);
  private readonly lifetimeSeconds: number;

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly codec: JwtCodec,
    config: AppConfig,
  ) {
    this.lifetimeSeconds = config.jwt.expirationHours * 3600;
  }

  async createSession(
    userId: number,
    options: { username: string; deviceInfo?: DeviceInfo },
  ): Promise<string> {
    const jti = randomUUID();
    const now = nowSeconds();
    const expiresAt = now + this.lifetimeSeconds;
    const token = this.codec.sign(
      { user_id: userId, username: options.username, jti },
      { issuedAt: now, expiresInSeconds: this.lifetimeSeconds },
    );
    await this.store
      .multi()
      .hset(sessionKey(userId, jti), {
        user_id: String(userId),
        username: options.username,
        jti,
        created_at: String(now),
        last_active: String(now),
        expires_at: String(expiresAt),
        ip: options.deviceInfo?.ip ?? '',
        user_agent: options.deviceInfo?.userAgent ?? '',
      })
      .pexpire(sessionKey(userId, jti), this.lifetimeSeconds * 1000)
      .sadd(userSessionsKey(userId), jti)
      .exec();
    return token;
  }

  /** The session behind a token, when its JWT verifies and its Redis entry exists; else null. */
  async verifySession(token: unknown): Promise<VerifiedSession | null> {
    const claims = this.codec.verify(token);
    if (!claims) return null;
    const record = await this.store.hgetall(sessionKey(claims.user_id, claims.jti));
    if (!record || record.user_id !== String(claims.user_id)) return null;
    const session = toSessionData(record);
    if (nowSeconds() - session.lastActive >= TOUCH_INTERVAL_SECONDS) {
      this.touch(claims, session);
    }
    return { ...session, claims };
  }

  /** A live session by user and id (jti), without a token; null when revoked or expired. */
  async findSession(userId: number, jti: string): Promise<SessionData | null> {
    const record = await this.store.hgetall(sessionKey(userId, jti));
    return record && record.user_id === String(userId) ? toSessionData(record) : null;
  }

  /**
   * Sliding expiry: when less than half the token's life is left, a fresh token for the same
   * session (same jti), with the Redis entry's TTL moved along. Null when no renewal is due.
   */
  async slideSession(session: VerifiedSession): Promise<string | null> {
    const { claims } = session;
    const now = nowSeconds();
    if (claims.exp - now >= this.lifetimeSeconds / 2) return null;
    const key = sessionKey(claims.user_id, claims.jti);
    const [, extended] = await this.store
      .multi()
      .hset(key, { expires_at: String(now + this.lifetimeSeconds) })
      .pexpire(key, this.lifetimeSeconds * 1000)
      .exec();
    if (extended !== 1 && extended !== true) return null;
    return this.codec.sign(
      { user_id: claims.user_id, username: claims.username, jti: claims.jti },
      { issuedAt: now, expiresInSeconds: this.lifetimeSeconds },
    );
  }

  /**
   * Rotation: a new session replaces the one `oldToken` names. Of two concurrent refreshes of one
   * token, only the caller whose delete removed the entry gets a new token; the other gets null.
   */
  async refreshSession(
    userId: number,
    oldToken: string,
    deviceInfo?: DeviceInfo,
  ): Promise<string | null> {
    const session = await this.verifySession(oldToken);
    if (!session || session.userId !== userId) return null;
    const won = await this.revokeSession(userId, session.jti);
    if (!won) return null;
    return this.createSession(userId, {
      username: session.username,
      deviceInfo: deviceInfo ?? { ip: session.ip, userAgent: session.userAgent },
    });
  }

  /** Revokes the session a token names. False when the token is invalid or already revoked. */
  async revokeSessionToken(token: unknown): Promise<boolean> {
    const claims = this.codec.verify(token);
    if (!claims) return false;
    return this.revokeSession(claims.user_id, claims.jti);
  }

  /** Deletes one session and announces it. True only for the call that actually removed it. */
  async revokeSession(userId: number, jti: string): Promise<boolean> {
    const [deleted] = await this.store
      .multi()
      .del(sessionKey(userId, jti))
      .srem(userSessionsKey(userId), jti)
      .exec();
    if (deleted !== 1) return false;
    await this.store.publish(SESSION_REVOKED_CHANNEL, JSON.stringify({ user_id: userId, jti }));
    return true;
  }

  /** Revokes every session of a user, except `except` (a jti) when given. Returns how many went. */
  async revokeUserSessions(userId: number, options: { except?: string } = {}): Promise<number> {
    const jtis = await this.store.smembers(userSessionsKey(userId));
    const results = await Promise.all(
      jtis.filter((jti) => jti !== options.except).map((jti) => this.revokeSession(userId, jti)),
    );
    return results.filter(Boolean).length;
  }

  /** The user's live sessions, newest first; members whose entry expired are dropped from the set. */
  async listSessions(userId: number): Promise<SessionData[]> {
    const jtis = await this.store.smembers(userSessionsKey(userId));
    if (jtis.length === 0) return [];
    const batch = this.store.pipeline();
    for (const jti of jtis) batch.hgetall(sessionKey(userId, jti));
    const records = await batch.exec();
    const stale = jtis.filter((_, i) => !isRecord(records[i]));
    if (stale.length > 0) await this.store.srem(userSessionsKey(userId), ...stale);
    return records
      .filter(isRecord)
      .map(toSessionData)
      .sort((a, b) => b.createdAt - a.createdAt);
  }

  private touch(claims: SessionClaims, session: SessionData): void {
    const key = sessionKey(claims.user_id, claims.jti);
    const now = nowSeconds();
    // HSET would recreate an entry revoked a moment ago; the TTL bounds such a fragment, and it
    // cannot authenticate or be listed, since it has no user_id.
    this.store
      .multi()
      .hset(key, { last_active: String(now) })
      .pexpire(key, Math.max(1, session.expiresAt - now) * 1000)
      .exec()
      .catch((error: Error) => this.logger.warn(`session touch failed: ${error.message}`));
    session.lastActive = now;
  }
}

function isRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' && value !== null && !(value instanceof Error) && 'user_id' in value
  );
}

function toSessionData(record: Record<string, string>): SessionData {
  return {
    userId: Number(record.user_id),
    username: record.username,
    jti: record.jti,
    createdAt: Number(record.created_at),
    lastActive: Number(record.last_active),
    expiresAt: Number(record.expires_at),
    ip: record.ip || null,
    userAgent: record.user_agent || null,
  };
}
