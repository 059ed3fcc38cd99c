import { createHash } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import type { Request } from 'express';
import type { RateLimitName } from '../config/app-config';
import { httpContextOf } from '../infra/http/http-context';
import { RATE_LIMITS_KEY } from './rate-limit.decorator';
import { RateLimiter } from './rate-limit.service';

type Tracker = (req: Request, context: ExecutionContext) => string;

const hashed = (value: string) => createHash('sha256').update(value).digest('hex');

/** The email a sign-in or reset names, from a REST body or a GraphQL `input` argument. */
function emailOf(req: Request, context: ExecutionContext): string {
  const source: unknown =
    context.getType<string>() === 'graphql'
      ? GqlExecutionContext.create(context).getArgs<{ input?: unknown }>().input
      : req.body;
  const email = (source as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase() : '';
}

const byIp: Tracker = (req) => `ip:${req.ip ?? 'unknown'}`;
// Hashed: the key space of the store should not hold a list of email addresses.
const byEmail: Tracker = (req, context) => `email:${hashed(emailOf(req, context))}`;
const byAuthor: Tracker = (req) => `author:${req.auth?.author.id ?? req.ip}`;
const bySession: Tracker = (req) => `session:${req.auth?.session.jti ?? req.ip}`;

/** Who each limit counts. One counter per limit and caller, whichever route (REST or GraphQL) was used. */
const TRACKERS: Record<RateLimitName, Tracker> = {
  loginIp: byIp,
  loginEmailIp: (req, context) => `${byEmail(req, context)}:${byIp(req, context)}`,
  loginEmail: byEmail,
  registerIp: byIp,
  forgotEmail: byEmail,
  changePasswordSession: bySession,
  phoneUser: byAuthor,
  ticketSession: bySession,
  followAuthor: byAuthor,
  shoutAuthor: byAuthor,
};

/** Applies the limits a handler names with `@RateLimit(...)`; 429 with `Retry-After` past one. */
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
    for (const name of names) {
      const verdict = await this.limiter.hit(name, TRACKERS[name](req, context));
      if (!verdict.allowed) {
        res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
        throw new HttpException(
          {
            statusCode: HttpStatus.TOO_MANY_REQUESTS,
            message: `Too many requests; try again in ${verdict.retryAfterSeconds} seconds`,
            error: 'Too Many Requests',
          },
          HttpStatus.TOO_MANY_REQUESTS,
        );
      }
    }
    return true;
  }
}
