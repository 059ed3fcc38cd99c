import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import type { DeviceInfo, VerifiedSession } from '../tokens/session-token.service';
import { SessionTokenManager, userSessionsKey } from '../tokens/session-token.service';
import { JwtCodec, type OriginalClaims } from '../tokens/jwt-codec.service';
import {
  OLDER_ORIGINAL_SESSION_PATTERN,
  ORIGINAL_SESSION_PATTERN,
  type OriginalKey,
  olderOriginalSessionKey,
  originalSessionKey,
  parseOriginalKey,
} from '../tokens/original-session-keys';

/** What became of one original session in a batch migration. */
export type MigrationOutcome =
  'migrated' | 'alreadyMigrated' | 'expired' | 'malformed' | 'userMissing';

export type MigrationCounts = Record<MigrationOutcome, number> & { scanned: number };

/** The session a token of the original service now stands for, and a token of this service for it. */
export interface AdoptedSession {
  token: string;
  session: VerifiedSession;
}

const SCAN_BATCH = 500;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * The session id a token of the original service becomes: a UUID made of the token's SHA-256, so
 * that every instance, the on-use path and the batch command all turn one token into the same
 * session, and a second migration of it finds the first.
 */
export function jtiOfOriginalToken(token: string): string {
  const hex = createHash('sha256').update(token).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Epoch seconds from what the original stored (seconds, milliseconds or an ISO date), or null. */
function epochSeconds(value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  if (/^\d+(\.\d+)?$/.test(value)) {
    const number = Number(value);
    return Math.floor(number > 1e12 ? number / 1000 : number);
  }
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : Math.floor(parsed / 1000);
}

const firstOf = (record: Record<string, string>, ...names: string[]) =>
  names.map((name) => record[name]).find((value) => value !== undefined && value !== '');

/**
 * The cut-over from the original platform's auth service (docs/CUT-OVER.md), with
 * LEGACY_SESSIONS=migrate. A token of the original service is accepted only when its signature
 * verifies and an entry of the original exists for it (or it was migrated already); its first use
 * moves the entry into this service's layout, keeping its times and remaining lifetime, and
 * deletes the original's keys. `migrateAll` does the same for every entry, in batches.
 */
@Injectable()
export class LegacySessions {
  private readonly logger = new Logger(LegacySessions.name);
  readonly enabled: boolean;

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly codec: JwtCodec,
    private readonly sessions: SessionTokenManager,
    private readonly authors: AuthorRepository,
    config: AppConfig,
  ) {
    this.enabled = config.legacySessions === 'migrate';
  }

  /**
   * The session behind a token of the original service, migrated on this first use; or, when it
   * was migrated before, that session. Null for anything else: another token, a bad signature, no
   * entry of the original, an expired one, an author who no longer exists or is banned, or the
   * opt-in off.
   */
  async adopt(token: string, client?: DeviceInfo): Promise<AdoptedSession | null> {
    if (!this.enabled) return null;
    const claims = this.codec.verifyOriginal(token);
    if (!claims) return null;
    const jti = jtiOfOriginalToken(token);
    const entries = await this.entriesOf(claims, token);
    if (entries.length === 0) return this.alreadyMigrated(claims, jti);
    // A banned author's session stays where it is, refused as the original refused it.
    const author = await this.authors.findById(claims.user_id);
    if (!author || author.bannedAt !== null) return null;
    const adopted = await this.migrate(claims, token, jti, entries, client);
    if (adopted) this.logger.log(`migrated a session of user ${claims.user_id} on first use`);
    return adopted;
  }

  /**
   * Migrates every entry of the original service, SCANning in batches; idempotent, and safe while
   * both services run (each entry is read, written here and deleted there in one pass). With
   * `dryRun`, counts what it would do and changes nothing. `onProgress` gets the counts after each
   * batch. Never sees or prints a token outside this process.
   */
  async migrateAll(options: {
    dryRun: boolean;
    onProgress?: (counts: MigrationCounts) => void;
  }): Promise<MigrationCounts> {
    const counts: MigrationCounts = {
      scanned: 0,
      migrated: 0,
      alreadyMigrated: 0,
      expired: 0,
      malformed: 0,
      userMissing: 0,
    };
    for (const pattern of [ORIGINAL_SESSION_PATTERN, OLDER_ORIGINAL_SESSION_PATTERN]) {
      for await (const keys of this.store.scan(pattern, SCAN_BATCH)) {
        const found = keys.map((key) => ({ key, parsed: parseOriginalKey(key) }));
        const userIds = found.flatMap(({ parsed }) => (parsed ? [parsed.userId] : []));
        const existing = await this.authors.existingIds(userIds);
        const outcomes = await Promise.all(
          found.map(({ key, parsed }) => this.migrateKey(key, parsed, existing, options.dryRun)),
        );
        counts.scanned += keys.length;
        for (const outcome of outcomes) counts[outcome]++;
        options.onProgress?.({ ...counts });
      }
    }
    return counts;
  }

  private async migrateKey(
    key: string,
    parsed: OriginalKey | null,
    existingAuthors: Set<number>,
    dryRun: boolean,
  ): Promise<MigrationOutcome> {
    if (!parsed) return 'malformed';
    const claims = this.codec.verifyOriginal(parsed.token);
    if (!claims) {
      const expired = this.codec.verifyOriginal(parsed.token, { ignoreExpiration: true });
      return expired ? 'expired' : 'malformed';
    }
    const wrongUser =
      claims.user_id !== parsed.userId ||
      (parsed.username !== undefined && parsed.username !== claims.username);
    if (wrongUser) return 'malformed';
    if (!existingAuthors.has(claims.user_id)) return 'userMissing';
    const jti = jtiOfOriginalToken(parsed.token);
    const entries = await this.entriesOf(claims, parsed.token);
    if (entries.length === 0) return 'expired';
    if (await this.sessions.findSession(claims.user_id, jti)) {
      if (!dryRun) await this.removeEntries(claims.user_id, parsed.token, entries);
      return 'alreadyMigrated';
    }
    if (dryRun) return 'migrated';
    const adopted = await this.migrate(claims, parsed.token, jti, entries);
    return adopted ? 'migrated' : 'expired';
  }

  /** The original's entries for this token that still exist, with their contents and TTL. */
  private async entriesOf(
    claims: OriginalClaims,
    token: string,
  ): Promise<{ key: string; record: Record<string, string>; ttlMs: number }[]> {
    const keys = [
      originalSessionKey(claims.user_id, token),
      olderOriginalSessionKey(claims.user_id, claims.username, token),
    ];
    const entries = [];
    for (const key of keys) {
      const ttlMs = await this.store.pttl(key);
      if (ttlMs === -2) continue;
      entries.push({ key, record: await this.readEntry(key), ttlMs });
    }
    return entries;
  }

  /** A hash's fields; an entry of another type (the older layout kept a string) has none we read. */
  private async readEntry(key: string): Promise<Record<string, string>> {
    try {
      return (await this.store.hgetall(key)) ?? {};
    } catch {
      return {};
    }
  }

  private async migrate(
    claims: OriginalClaims,
    token: string,
    jti: string,
    entries: { key: string; record: Record<string, string>; ttlMs: number }[],
    client?: DeviceInfo,
  ): Promise<AdoptedSession | null> {
    const now = nowSeconds();
    // The entry's own TTL, else the token's expiry; the longest of the entries found.
    const ttlS = Math.max(
      ...entries.map(({ ttlMs }) => (ttlMs > 0 ? Math.floor(ttlMs / 1000) : claims.exp - now)),
    );
    if (ttlS <= 0 || claims.exp <= now) return null;
    const record = Object.assign({}, ...entries.map((entry) => entry.record)) as Record<
      string,
      string
    >;
    const createdAt =
      epochSeconds(firstOf(record, 'created_at', 'createdAt', 'created')) ?? claims.iat;
    const lastActive =
      epochSeconds(firstOf(record, 'last_active', 'last_activity', 'last_seen')) ?? createdAt;
    return this.sessions.importSession({
      userId: claims.user_id,
      username: claims.username,
      jti,
      createdAt,
      lastActive,
      expiresAt: now + ttlS,
      ip: firstOf(record, 'ip', 'ip_address') ?? client?.ip ?? null,
      userAgent: firstOf(record, 'user_agent', 'userAgent') ?? client?.userAgent ?? null,
      replaces: { keys: entries.map((entry) => entry.key), listMembers: [token] },
    });
  }

  /** A token migrated before: a fresh token for its session, while that session lives. */
  private async alreadyMigrated(
    claims: OriginalClaims,
    jti: string,
  ): Promise<AdoptedSession | null> {
    const session = await this.sessions.findSession(claims.user_id, jti);
    if (!session) return null;
    return this.sessions.reissue(session);
  }

  private async removeEntries(userId: number, token: string, entries: { key: string }[]) {
    await this.store
      .multi()
      .del(...entries.map((entry) => entry.key))
      .srem(userSessionsKey(userId), token)
      .exec();
  }
}
