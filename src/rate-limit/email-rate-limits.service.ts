import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RateLimitName } from '../config/app-config';
import { TooManyRequestsException } from '../infra/http/too-many-requests.exception';
import { RateLimiter, type RateLimitVerdict } from './rate-limit.service';

/** The limits keyed by an email address, counted here rather than in RateLimitGuard. */
export type EmailRateLimitName = Extract<
  RateLimitName,
  'loginEmailIp' | 'loginEmail' | 'forgotEmail'
>;

/**
 * The rate-limit caller for an email address. Hashed: the key space of the store should not hold a
 * list of addresses. `email` must already be normalized (src/auth/email-address.ts), as every
 * input's email is once validated: the key is then built from the very value the account is
 * looked up by.
 */
export const emailTracker = (email: string): string =>
  `email:${createHash('sha256').update(email).digest('hex')}`;

const emailIpTracker = (email: string, ip: string | null): string =>
  `${emailTracker(email)}:ip:${ip ?? 'unknown'}`;

function enforce(verdict: RateLimitVerdict): void {
  if (!verdict.allowed) throw TooManyRequestsException.retryAfter(verdict.retryAfterSeconds);
}

/**
 * Sign-in and reset limits per email address. They are counted by the services, on the validated
 * and normalized input, so that REST and GraphQL share them and no second reading of the raw
 * request can disagree with the lookup.
 *
 * Sign-in counts wrong passwords, not attempts, on two levels: per (email, client IP) with a low
 * limit, and per email across every IP with a much higher ceiling. Someone guessing from one
 * address is stopped after a few tries without locking the owner, who signs in from another,
 * out; only guessing spread over many addresses meets the ceiling.
 */
@Injectable()
export class EmailRateLimits {
  constructor(private readonly limiter: RateLimiter) {}

  /**
   * Before a password is checked: refused past the ceiling, or past the (email, IP) limit. The
   * (email, IP) try is counted now, so that parallel tries cannot pass it together; a success
   * clears it again.
   */
  async beforeLogin(email: string, ip: string | null): Promise<void> {
    enforce(await this.limiter.peek('loginEmail', emailTracker(email)));
    enforce(await this.limiter.hit('loginEmailIp', emailIpTracker(email, ip)));
  }

  /** After a wrong password: counts toward the ceiling (the (email, IP) try is counted already). */
  async loginFailed(email: string): Promise<void> {
    await this.limiter.record('loginEmail', emailTracker(email));
  }

  /** After the right password: that client's tries for this email start again from zero. */
  async loginSucceeded(email: string, ip: string | null): Promise<void> {
    await this.limiter.reset('loginEmailIp', emailIpTracker(email, ip));
  }

  /** Each forgot-password request for an address, whoever sends it (each one may send a mail). */
  async forgotPassword(email: string): Promise<void> {
    enforce(await this.limiter.hit('forgotEmail', emailTracker(email)));
  }
}
