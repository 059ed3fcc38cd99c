import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

export interface OAuthTokens {
  accessToken: string;
  refreshToken?: string;
  /** Lifetime of the access token in seconds, as the provider's `expires_in`. */
  expiresIn?: number;
}

const DEFAULT_ACCESS_TTL_S = 3600;
const REFRESH_TTL_S = 30 * 24 * 3600;

const FORMAT_VERSION = 'v1';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Changing this string makes every stored value unreadable: bump it only with the format version.
const HKDF_INFO = 'tessera oauth tokens v1';

const PROVIDER_PATTERN = /^[a-z0-9_-]{1,64}$/;

const accessKey = (userId: number, provider: string) => `oauth_access:${userId}:${provider}`;
const refreshKey = (userId: number, provider: string) => `oauth_refresh:${userId}:${provider}`;

function assertOwner(userId: number, provider: string): void {
  if (!Number.isSafeInteger(userId) || userId <= 0) {
    throw new TypeError('userId must be a positive integer');
  }
  // The provider becomes part of a key: no separators or glob characters.
  if (typeof provider !== 'string' || !PROVIDER_PATTERN.test(provider)) {
    throw new TypeError('provider must match [a-z0-9_-]{1,64}');
  }
}

/**
 * Provider access and refresh tokens, encrypted at rest with AES-256-GCM so that a Redis dump does
 * not hand out access to users' provider accounts. The key name is the additional authenticated
 * data: a value copied under another user's or provider's key does not decrypt.
 */
@Injectable()
export class OAuthTokenManager {
  private readonly key: Buffer;

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    config: AppConfig,
  ) {
    const material = config.jwt.secret ?? config.jwt.privateKey;
    if (!material) throw new Error('OAuth token encryption needs JWT_SECRET or JWT_PRIVATE_KEY');
    // HKDF separates this key from the JWT signing use of the same material.
    this.key = Buffer.from(hkdfSync('sha256', material, '', HKDF_INFO, 32));
  }

  async storeTokens(userId: number, provider: string, tokens: OAuthTokens): Promise<void> {
    assertOwner(userId, provider);
    const { accessToken, refreshToken, expiresIn } = tokens;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new TypeError('accessToken must be a non-empty string');
    }
    const accessTtlS =
      typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
        ? Math.ceil(expiresIn)
        : DEFAULT_ACCESS_TTL_S;

    const access = accessKey(userId, provider);
    const batch = this.store
      .multi()
      .set(access, this.encrypt(access, accessToken), { ttlMs: accessTtlS * 1000 });
    // Providers often omit the refresh token when refreshing: the one stored earlier stays valid.
    if (typeof refreshToken === 'string' && refreshToken !== '') {
      const refresh = refreshKey(userId, provider);
      batch.set(refresh, this.encrypt(refresh, refreshToken), { ttlMs: REFRESH_TTL_S * 1000 });
    }
    const error = (await batch.exec()).find((result) => result instanceof Error);
    if (error) throw error;
  }

  async getAccessToken(userId: number, provider: string): Promise<string | null> {
    assertOwner(userId, provider);
    return this.read(accessKey(userId, provider));
  }

  async getRefreshToken(userId: number, provider: string): Promise<string | null> {
    assertOwner(userId, provider);
    return this.read(refreshKey(userId, provider));
  }

  async deleteTokens(userId: number, provider: string): Promise<void> {
    assertOwner(userId, provider);
    await this.store.del(accessKey(userId, provider), refreshKey(userId, provider));
  }

  private async read(key: string): Promise<string | null> {
    const value = await this.store.get(key);
    return value === null ? null : this.decrypt(key, value);
  }

  private encrypt(key: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(key));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [FORMAT_VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** Null for anything that does not authenticate: a stale key, tampering, or a moved value. */
  private decrypt(key: string, value: string): string | null {
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT_VERSION) return null;
    const [iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url'));
    // Node's base64 decoder skips characters it does not know; only the canonical form is accepted.
    const canonical = [iv, tag, ciphertext].every(
      (bytes, index) => bytes.toString('base64url') === parts[index + 1],
    );
    if (!canonical || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv(CIPHER, this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
