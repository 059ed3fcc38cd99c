import { ForbiddenException, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { SessionTokenManager } from '../tokens/session-token.service';
import { clientInfoOf } from '../infra/http/client-info.decorator';
import { dependencyFailureOf } from '../infra/availability/dependency-unavailable.error';
import { LegacySessions } from './legacy-sessions.service';
import { OriginPolicy } from './origin-policy.service';
import { SessionCookieService } from './session-cookie.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BEARER = /^Bearer +([^\s]+) *$/i;
/**
 * Where a bearer client whose token of the original service was just migrated finds its new token
 * (README, "Switching over from the original service"); cookie clients get a new cookie.
 */
export const MIGRATED_TOKEN_HEADER = 'X-Session-Token';

/**
 * Runs once per request, before REST handlers and GraphQL alike: finds the session token (an
 * `Authorization: Bearer` header wins over the cookie), verifies it against Redis, loads the author
 * and puts both on `req.auth`. It also enforces the origin rule for state-changing requests that a
 * browser could send with the cookie, and renews a cookie past half its life (sliding expiry).
 */
@Injectable()
export class AuthenticationMiddleware implements NestMiddleware {
  constructor(
    private readonly sessions: SessionTokenManager,
    private readonly authors: AuthorRepository,
    private readonly cookies: SessionCookieService,
    private readonly origins: OriginPolicy,
    private readonly legacy: LegacySessions,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    const bearer = BEARER.exec(req.get('authorization') ?? '')?.[1];
    const token = bearer ?? this.cookies.read(req);
    const via = bearer ? 'bearer' : 'cookie';

    if (token) {
      try {
        const client = clientInfoOf(req);
        let session = await this.sessions.verifySession(token, client);
        let issued = token;
        if (!session && this.legacy.enabled) {
          const adopted = await this.legacy.adopt(token, client);
          if (adopted) {
            ({ session, token: issued } = adopted);
            if (via === 'cookie') this.cookies.set(res, issued);
            else res.setHeader(MIGRATED_TOKEN_HEADER, issued);
          }
        }
        const author = session ? await this.authors.findById(session.userId) : null;
        if (session && author && author.bannedAt === null) {
          req.auth = { author, session, via, token: issued };
        }
      } catch (error) {
        // Routes that never look at the caller (JWKS, health, login) still work; those that do
        // answer 503 (`authOf`), never treating the token as valid or as absent.
        req.authUnavailable = dependencyFailureOf(error);
        if (!req.authUnavailable) throw error;
      }
    }

    // Bearer requests cannot be forged by another site (a browser never adds the header by itself).
    if (!SAFE_METHODS.has(req.method) && !bearer) {
      const origin = this.origins.originOf(req);
      if (origin !== undefined && !this.origins.allows(origin, req)) {
        throw new ForbiddenException(`Origin ${origin} is not allowed`);
      }
      if (origin === undefined && req.auth) {
        throw new ForbiddenException(
          'A cookie-authenticated request that changes state must carry Origin or Referer',
        );
      }
    }

    if (req.auth?.via === 'cookie') {
      const renewed = await this.sessions.slideSession(req.auth.session);
      if (renewed) {
        this.cookies.set(res, renewed);
        req.auth.token = renewed;
      }
    }
    next();
  }
}
