import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { compare, hash } from 'bcrypt';
import { AppConfig } from '../config/app-config';

/** bcrypt reads at most 72 bytes; longer passwords are pre-hashed so that every byte counts. */
const BCRYPT_MAX_BYTES = 72;
const COST = /^\$2[abxy]\$(\d{2})\$/;

export interface PasswordCheck {
  valid: boolean;
  /** The stored hash was made with another cost than BCRYPT_ROUNDS: store a new one. */
  needsRehash: boolean;
}

/**
 * Password hashing with bcrypt at BCRYPT_ROUNDS, native (`bcrypt`, prebuilt binaries in its
 * package): each hash runs on libuv's thread pool, so logins use every core and the event loop
 * keeps serving other requests and streams meanwhile (docs/PERFORMANCE.md, "Login").
 */
@Injectable()
export class PasswordService {
  private readonly cost: number;
  private readonly prehash: 'base64' | 'hex';
  private dummyHash?: Promise<string>;

  constructor(config: AppConfig) {
    this.cost = config.bcryptRounds;
    this.prehash = config.passwordPrehash;
  }

  hash(password: string): Promise<string> {
    return hash(this.prepare(password), this.cost);
  }

  /**
   * Checks a password against a stored hash. With no stored hash (unknown account, or one that
   * signs in only through OAuth) it still runs one bcrypt comparison against a dummy hash, so
   * the answer takes about as long as for a wrong password and does not reveal which it was.
   */
  async check(password: string, storedHash: string | null | undefined): Promise<PasswordCheck> {
    if (!storedHash) {
      this.dummyHash ??= this.hash('tessera-dummy-password');
      await compare(this.prepare(password), await this.dummyHash);
      return { valid: false, needsRehash: false };
    }
    const valid = await compare(this.prepare(password), storedHash);
    return { valid, needsRehash: valid && costOf(storedHash) !== this.cost };
  }

  /**
   * What bcrypt is given: the password, or beyond 72 bytes of UTF-8 the SHA-256 digest of those
   * bytes in PASSWORD_PREHASH encoding (base64: standard alphabet with padding, 44 characters;
   * hex: lowercase, 64 characters), as the original service does (docs/CUT-OVER.md).
   */
  private prepare(password: string): string {
    return Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_BYTES
      ? createHash('sha256').update(password, 'utf8').digest(this.prehash)
      : password;
  }
}

function costOf(storedHash: string): number | null {
  const match = COST.exec(storedHash);
  return match ? Number(match[1]) : null;
}
