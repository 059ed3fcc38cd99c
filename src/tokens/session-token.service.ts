import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { JwtCodec, type SessionClaims } from './jwt-codec.service';
import { parseOriginalKey } from './original-session-keys';

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

/** What a rotated-away token's reappearance revoked: the sessions that had replaced it. */
export interface SessionReuse {
  userId: number;
  /** The jti of the rotated-away session whose token was presented again. */
  sessionId: string;
  /** The jtis of its successors that this detection revoked (empty when none was still live). */
  revoked: string[];
  /** Who presented it, when the caller knew. */
  client?: DeviceInfo;
}

export type SessionReuseListener = (reuse: SessionReuse) => void | Promise<void>;

export const sessionKey = (userId: number | string, jti: string) => `session:${userId}:${jti}`;
export const userSessionsKey = (userId: number | string) => `user_sessions:${userId}`;
/** Left by a rotation under the old session's id, until the old token would have expired. */
const sessionSuccessorKey = (userId: number | string, jti: string) =>
  `session_successor:${userId}:${jti}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);
/**
 * A member of `user_sessions:{id}` that is a raw token, not a jti: the original service lists its
 * sessions there by token (docs/CUT-OVER.md). A jti never contains a dot; a JWT always does.
 */
const isOriginalToken = (member: string) => member.includes('.');

/**
 * A session carried over from the original service, as SessionTokenManager.importSession takes it;
 * its entry's TTL runs until `expiresAt`.
 */
export interface ImportedSession extends SessionData {
  /** The original's keys and list members, removed in the same transaction. */
  replaces: { keys: string[]; listMembers: string[] };
}

/**
 * A reuse revokes the live sessions of the rotation chain, then looks again in case a rotation of
 * the chain was midway; each pass that finds one revokes it, so this bound is never reached in practice.
 */
const MAX_REVOCATION_PASSES = 5;

interface SuccessorRecord {
  successor: string;
  /** The jti of the sign-in that began the rotation chain. */
  family: string;
}

/**
 * Sessions: a JWT that names a Redis entry. The JWT alone never authenticates; deleting the entry
 * revokes the session everywhere at once, and every revocation is announced on `session:revoked`.
 *
 * Refresh rotates, with reuse detection: a rotation leaves `session_successor:{user_id}:{old_jti}`
 * (the new jti and the chain's first jti, never a token) for the old token's remaining lifetime.
 * A token whose JWT verifies but whose session is gone, presented where sessions are verified (any
 * route, the stream), finds that record: the token was rotated away and is in someone else's hands
 * too, so every live session of its chain is revoked and the listeners (the audit log) are told.
 * Two refreshes that both found the session live are not reuse: one wins, the other gets null.
 */
@Injectable()
export class SessionTokenManager {
  private readonly logger = new Logger(SessionTokenManager.name);
  private readonly lifetimeSeconds: number;
  private readonly legacySessions: boolean;
  private readonly reuseListeners = new Set<SessionReuseListener>();

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly codec: JwtCodec,
    config: AppConfig,
  ) {
    this.lifetimeSeconds = config.jwt.expirationHours * 3600;
    this.legacySessions = config.legacySessions === 'migrate';
  }

  async createSession(
    userId: number,
    options: { username: string; deviceInfo?: DeviceInfo },
  ): Promise<string> {
    const jti = randomUUID();
    return this.storeSession(userId, jti, { ...options, family: jti });
  }

  /** Calls `listener` after each detected reuse, once the chain is revoked. Returns its removal. */
  onReuseDetected(listener: SessionReuseListener): () => void {
    this.reuseListeners.add(listener);
    return () => this.reuseListeners.delete(listener);
  }

  /**
   * The session behind a token, when its JWT verifies and its Redis entry exists; else null. A
   * token that was rotated away revokes its successors here (reuse detection); `client` is who
   * presented it, for the listeners.
   */
  async verifySession(token: unknown, client?: DeviceInfo): Promise<VerifiedSession | null> {
    const found = await this.lookup(token);
    if (!found) return null;
    const { claims, record } = found;
    if (!record) {
      await this.detectReuse(claims, client);
      return null;
    }
    const session = toSessionData(record);
    if (nowSeconds() - session.lastActive >= TOUCH_INTERVAL_SECONDS) {
      this.touch(claims, session);
    }
    return { ...session, claims };
  }

  /** For each session, whether it still exists; one pipelined round trip for all of them. */
  async sessionsExist(sessions: readonly { userId: number; jti: string }[]): Promise<boolean[]> {
    if (sessions.length === 0) return [];
    const batch = this.store.pipeline();
    for (const { userId, jti } of sessions) batch.hget(sessionKey(userId, jti), 'user_id');
    const owners = await batch.exec();
    // A fragment without user_id (a late touch after a revocation) is not a session.
    return sessions.map(({ userId }, i) => owners[i] === String(userId));
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
      .pexpire(userSessionsKey(claims.user_id), this.lifetimeSeconds * 1000)
      .exec();
    if (extended !== 1 && extended !== true) return null;
    return this.codec.sign(
      { user_id: claims.user_id, username: claims.username, jti: claims.jti },
      { issuedAt: now, expiresInSeconds: this.lifetimeSeconds },
    );
  }

  /**
   * Rotation: a new session replaces the one `oldToken` names. Of two concurrent refreshes of one
   * token, only the caller whose delete removed the entry gets a new token; the other gets null,
   * and is not taken for a reuse (its request found the session live).
   *
   * The successor exists before the old session goes, and the old entry's delete and the successor
   * record are one MULTI: whoever sees the old session gone also sees the record, and the successor
   * it names is there to revoke.
   */
  async refreshSession(
    userId: number,
    oldToken: string,
    deviceInfo?: DeviceInfo,
  ): Promise<string | null> {
    const found = await this.lookup(oldToken);
    if (!found?.record || found.claims.user_id !== userId) return null;
    const { claims, record } = found;
    const old = toSessionData(record);
    const family = record.family || old.jti;
    const jti = randomUUID();
    const token = await this.storeSession(userId, jti, {
      username: old.username,
      deviceInfo: deviceInfo ?? { ip: old.ip, userAgent: old.userAgent },
      family,
    });
    const successor: SuccessorRecord = { successor: jti, family };
    const remainingSeconds = Math.max(claims.exp, old.expiresAt) - nowSeconds();
    const [deleted, , recorded] = await this.store
      .multi()
      .del(sessionKey(userId, old.jti))
      .srem(userSessionsKey(userId), old.jti)
      .set(sessionSuccessorKey(userId, old.jti), JSON.stringify(successor), {
        ttlMs: Math.max(1, remainingSeconds) * 1000,
        onlyIfAbsent: true,
      })
      .exec();
    if (deleted !== 1) {
      // Lost to another refresh or a revocation: the new session was never handed out. A record
      // set here names it, and can only be ours (a winning rotation's MULTI would have come first).
      const undo = this.store
        .multi()
        .del(sessionKey(userId, jti))
        .srem(userSessionsKey(userId), jti);
      if (recorded === true) undo.del(sessionSuccessorKey(userId, old.jti));
      await undo.exec();
      return null;
    }
    await this.announceRevocation(userId, old.jti);
    return token;
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
    await this.announceRevocation(userId, jti);
    return true;
  }

  /**
   * Revokes every session of a user, except `except` (a jti) when given. Returns how many went.
   * Sessions of the original service listed there and not yet migrated go too, without an
   * announcement (no stream runs on them; the channel never carries a token).
   */
  async revokeUserSessions(userId: number, options: { except?: string } = {}): Promise<number> {
    const members = await this.store.smembers(userSessionsKey(userId));
    const originals = members.filter(isOriginalToken);
    if (originals.length > 0) {
      const batch = this.store.multi();
      for (const token of originals) batch.del(sessionKey(userId, token));
      await batch.srem(userSessionsKey(userId), ...originals).exec();
    }
    if (this.legacySessions) await this.removeOlderOriginalSessions(userId);
    const results = await Promise.all(
      members
        .filter((jti) => !isOriginalToken(jti) && jti !== options.except)
        .map((jti) => this.revokeSession(userId, jti)),
    );
    return results.filter(Boolean).length;
  }

  /** A fresh token for a live session, valid until the session's own expiry. */
  reissue(session: SessionData): { token: string; session: VerifiedSession } {
    const now = nowSeconds();
    const lifetime = Math.max(1, session.expiresAt - now);
    const claims = {
      user_id: session.userId,
      username: session.username,
      jti: session.jti,
      iat: now,
      exp: now + lifetime,
    };
    const token = this.codec.sign(claims, { issuedAt: now, expiresInSeconds: lifetime });
    const { userId, username, jti, createdAt, lastActive, expiresAt, ip, userAgent } = session;
    return {
      token,
      session: { userId, username, jti, createdAt, lastActive, expiresAt, ip, userAgent, claims },
    };
  }

  /**
   * Writes a session carried over from the original service in this service's layout, with its
   * times and remaining lifetime, and removes the original's keys and list members in the same
   * MULTI, so that no raw token is left in a key. Returns a token for it and the verified session.
   */
  async importSession(
    imported: ImportedSession,
  ): Promise<{ token: string; session: VerifiedSession }> {
    const { userId, jti, username, expiresAt } = imported;
    const now = nowSeconds();
    const ttlMs = Math.max(1, expiresAt - now) * 1000;
    const batch = this.store
      .multi()
      .hset(sessionKey(userId, jti), {
        user_id: String(userId),
        username,
        jti,
        created_at: String(imported.createdAt),
        last_active: String(imported.lastActive),
        expires_at: String(expiresAt),
        ip: imported.ip ?? '',
        user_agent: imported.userAgent ?? '',
        family: jti,
      })
      .pexpire(sessionKey(userId, jti), ttlMs)
      .sadd(userSessionsKey(userId), jti)
      .pexpire(userSessionsKey(userId), this.lifetimeSeconds * 1000)
      .del(...imported.replaces.keys)
      .srem(userSessionsKey(userId), ...imported.replaces.listMembers);
    await batch.exec();
    return this.reissue(imported);
  }

  /**
   * The user's live sessions, newest first; members whose entry expired are dropped from the set.
   * Sessions of the original service not yet migrated are not listed.
   */
  async listSessions(userId: number): Promise<SessionData[]> {
    const jtis = (await this.store.smembers(userSessionsKey(userId))).filter(
      (member) => !isOriginalToken(member),
    );
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

  private async storeSession(
    userId: number,
    jti: string,
    options: { username: string; deviceInfo?: DeviceInfo; family: string },
  ): Promise<string> {
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
        family: options.family,
      })
      .pexpire(sessionKey(userId, jti), this.lifetimeSeconds * 1000)
      .sadd(userSessionsKey(userId), jti)
      // No session of the user outlives the newest one's lifetime: nor does their list.
      .pexpire(userSessionsKey(userId), this.lifetimeSeconds * 1000)
      .exec();
    return token;
  }

  /** Deletes the user's sessions in the original service's older layout (`{id}-{username}-{token}`). */
  private async removeOlderOriginalSessions(userId: number): Promise<void> {
    for await (const keys of this.store.scan(`${userId}-*-eyJ*`, 500)) {
      const mine = keys.filter((key) => parseOriginalKey(key)?.userId === userId);
      if (mine.length > 0) await this.store.del(...mine);
    }
  }

  /** The verified claims of a token and its Redis entry (null when that is gone); null for a bad JWT. */
  private async lookup(
    token: unknown,
  ): Promise<{ claims: SessionClaims; record: Record<string, string> | null } | null> {
    const claims = this.codec.verify(token);
    if (!claims) return null;
    const record = await this.store.hgetall(sessionKey(claims.user_id, claims.jti));
    // An entry without user_id is a fragment a late touch wrote after a revocation: gone too.
    return { claims, record: record && record.user_id === String(claims.user_id) ? record : null };
  }

  /**
   * A verified token whose session is gone: when a rotation left its record, the token is being
   * reused. The record is taken with GETDEL, so concurrent replays are detected (and audited) once.
   */
  private async detectReuse(claims: SessionClaims, client?: DeviceInfo): Promise<void> {
    const raw = await this.store.getdel(sessionSuccessorKey(claims.user_id, claims.jti));
    const record = raw === null ? null : parseSuccessor(raw);
    if (!record) return;
    const revoked = await this.revokeChain(claims.user_id, record);
    this.logger.warn(
      `rotated-away session ${claims.jti} of user ${claims.user_id} presented again; revoked ${revoked.length} successor(s)`,
    );
    const reuse: SessionReuse = { userId: claims.user_id, sessionId: claims.jti, revoked, client };
    for (const listener of this.reuseListeners) {
      Promise.resolve()
        .then(() => listener(reuse))
        .catch((error: Error) =>
          this.logger.error(`session reuse listener failed: ${error.message}`),
        );
    }
  }

  /** Revokes the successor and every live session of its chain, until a pass finds none. */
  private async revokeChain(userId: number, record: SuccessorRecord): Promise<string[]> {
    const revoked: string[] = [];
    for (let pass = 0; pass < MAX_REVOCATION_PASSES; pass++) {
      const members = await this.chainMembers(userId, record);
      if (members.length === 0) break;
      const results = await Promise.all(members.map((jti) => this.revokeSession(userId, jti)));
      revoked.push(...members.filter((_, i) => results[i]));
    }
    return revoked;
  }

  private async chainMembers(userId: number, record: SuccessorRecord): Promise<string[]> {
    const jtis = await this.store.smembers(userSessionsKey(userId));
    if (jtis.length === 0) return [];
    const batch = this.store.pipeline();
    for (const jti of jtis) batch.hgetall(sessionKey(userId, jti));
    const records = await batch.exec();
    return jtis.filter((jti, i) => {
      const entry = records[i];
      if (!isRecord(entry)) return false;
      // Entries written before chains were recorded begin their own.
      return jti === record.successor || (entry.family || jti) === record.family;
    });
  }

  private async announceRevocation(userId: number, jti: string): Promise<void> {
    await this.store.publish(SESSION_REVOKED_CHANNEL, JSON.stringify({ user_id: userId, jti }));
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

function parseSuccessor(raw: string): SuccessorRecord | null {
  try {
    const parsed = JSON.parse(raw) as Partial<SuccessorRecord> | null;
    return typeof parsed?.successor === 'string' && typeof parsed.family === 'string'
      ? { successor: parsed.successor, family: parsed.family }
      : null;
  } catch {
    return null;
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
