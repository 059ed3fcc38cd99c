import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { RateLimitName } from '../config/app-config';
import { httpContextOf } from '../infra/http/http-context';
import type { EmailRateLimitName } from './email-rate-limits.service';
import { TooManyRequestsException } from '../infra/http/too-many-requests.exception';
import { RateLimiter } from './rate-limit.service';

type Tracker = (req: Request) => string;

const byIp: Tracker = (req) => `ip:${req.ip ?? 'unknown'}`;
const byAuthor: Tracker = (req) => `author:${req.auth?.author.id ?? req.ip}`;
const bySession: Tracker = (req) => `session:${req.auth?.session.jti ?? req.ip}`;

/** Where `@RateLimit(...)` stores the limit names this guard counts. */
export const RATE_LIMITS_KEY = 'tessera:rate-limits';

/**
 * Who each limit counts, for the limits known from the request itself. One counter per limit and
 * caller, whichever route (REST or GraphQL) was used. The limits keyed by an email are not here:
 * guards run before the input is validated and normalized, so EmailRateLimits counts those.
 */
const TRACKERS: Record<Exclude<RateLimitName, EmailRateLimitName>, Tracker> = {
  loginIp: byIp,
  registerIp: byIp,
  changePasswordSession: bySession,
  phoneUser: byAuthor,
  ticketSession: bySession,
  followAuthor: byAuthor,
  shoutAuthor: byAuthor,
  oauthStartIp: byIp,
};

const countedHere = (name: RateLimitName): name is keyof typeof TRACKERS => name in TRACKERS;

/**
 * Applies the limits a handler names with `@RateLimit(...)`; 429 with `Retry-After` past one. It
 * runs for each GraphQL field, so every aliased copy of a mutation in one request counts.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const names =
      this.reflector.getAllAndOverride<RateLimitName[] | undefined>(RATE_LIMITS_KEY, [
        context.getHandler(),
        context.getClass(),
      ]) ?? [];
    const { req, res } = httpContextOf(context);
    for (const name of names.filter(countedHere)) {
      const verdict = await this.limiter.hit(name, TRACKERS[name](req));
      if (!verdict.allowed) {
        res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
        throw TooManyRequestsException.retryAfter(verdict.retryAfterSeconds);
      }
    }
    return true;
  }
}
