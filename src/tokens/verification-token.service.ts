import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

const VERIFICATION_TYPES = ['email_verification', 'phone_verification', 'password_reset'] as const;

export type VerificationType = (typeof VERIFICATION_TYPES)[number];

export interface VerificationRecord {
  userId: number;
  type: VerificationType;
  data: Record<string, unknown>;
  /** Epoch seconds. */
  createdAt: number;
}

/** What is stored under `verification:{sha256(token)}`, in the field names of the original system. */
interface StoredRecord {
  user_id: number;
  type: VerificationType;
  data: Record<string, unknown>;
  created_at: number;
}

const TOKEN_BYTES = 32;
const MAX_TOKEN_LENGTH = 256;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

const recordKey = (hash: string) => `verification:${hash}`;
const latestKey = (userId: number, type: VerificationType) =>
  `verification_latest:${userId}:${type}`;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Hash of a well-formed token, or null for anything that cannot be one (Redis is not asked). */
function hashIfWellFormed(token: unknown): string | null {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    return null;
  }
  return TOKEN_PATTERN.test(token) ? hashToken(token) : null;
}

function isVerificationType(value: unknown): value is VerificationType {
  return (VERIFICATION_TYPES as readonly unknown[]).includes(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseRecord(json: string | null): VerificationRecord | null {
  if (json === null) return null;
  let stored: unknown;
  try {
    stored = JSON.parse(json);
  } catch {
    return null;
  }
  if (
    !isPlainObject(stored) ||
    !Number.isSafeInteger(stored.user_id) ||
    !isVerificationType(stored.type) ||
    !isPlainObject(stored.data) ||
    !Number.isSafeInteger(stored.created_at)
  ) {
    return null;
  }
  return {
    userId: stored.user_id as number,
    type: stored.type,
    data: stored.data,
    createdAt: stored.created_at as number,
  };
}

function firstError(results: unknown[]): Error | undefined {
  return results.find((result): result is Error => result instanceof Error);
}

/**
 * Single-use tokens for e-mail and phone verification and password reset. Only the SHA-256 of a
 * token reaches Redis, so a leaked key space does not yield usable tokens.
 *
 * The record is a JSON string rather than a Redis hash: GETDEL on a string is the one atomic
 * read-and-delete the store offers, which makes confirmation single use without scripting.
 */
@Injectable()
export class VerificationTokenManager {
  constructor(@Inject(REDIS_STORE) private readonly store: RedisStore) {}

  async createVerificationToken(
    userId: number,
    type: VerificationType,
    data: Record<string, unknown> = {},
    ttlSeconds = 3600,
  ): Promise<string> {
    if (!Number.isSafeInteger(userId) || userId <= 0) {
      throw new TypeError('userId must be a positive integer');
    }
    if (!isVerificationType(type)) throw new TypeError('unknown verification type');
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
      throw new RangeError('ttlSeconds must be a positive integer');
    }

    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const hash = hashToken(token);
    const stored: StoredRecord = {
      user_id: userId,
      type,
      data,
      created_at: Math.floor(Date.now() / 1000),
    };
    const ttlMs = ttlSeconds * 1000;
    const pointer = latestKey(userId, type);

    const previous = await this.store.get(pointer);
    const batch = this.store.multi();
    if (previous !== null) batch.del(recordKey(previous));
    // Reading the pointer inside the transaction swaps it atomically: if another creation slipped
    // in since `previous` was read, its token is the one displaced and is deleted below.
    const results = await batch
      .set(recordKey(hash), JSON.stringify(stored), { ttlMs })
      .get(pointer)
      .set(pointer, hash, { ttlMs })
      .exec();
    const error = firstError(results);
    if (error) throw error;

    const displaced = results[results.length - 2] as string | null;
    if (displaced !== null && displaced !== previous) {
      await this.store.del(recordKey(displaced));
    }
    return token;
  }

  /** Reads the record without consuming it. */
  async validateVerificationToken(token: string): Promise<VerificationRecord | null> {
    const hash = hashIfWellFormed(token);
    if (hash === null) return null;
    return parseRecord(await this.store.get(recordKey(hash)));
  }

  /** Consumes the token: of concurrent callers with the same token, exactly one gets the record. */
  async confirmVerificationToken(token: string): Promise<VerificationRecord | null> {
    const hash = hashIfWellFormed(token);
    if (hash === null) return null;
    // The latest-token pointer may keep naming this consumed token until it expires; the next
    // creation then deletes a key that is already gone, which is harmless.
    return parseRecord(await this.store.getdel(recordKey(hash)));
  }
}
