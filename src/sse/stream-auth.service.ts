import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { OriginPolicy } from '../auth/origin-policy.service';
import { SessionCookieService } from '../auth/session-cookie.service';
import { AuthorRepository } from '../infra/database/repositories/author.repository';
import { TokenStorage } from '../tokens/token-storage.service';
import { SseTicketService } from './sse-ticket.service';

/** Who a stream is for, and until when their session lasts. */
export interface StreamIdentity {
  userId: number;
  jti: string;
  /** Epoch seconds: the stream closes then. */
  expiresAt: number;
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Authenticates a stream request in the order the README (Real-time notifications) gives: a one-time `?ticket=`, the
 * session cookie, `Authorization: Bearer`. The first credential present decides: a stale ticket
 * does not fall back to a cookie, so a replayed ticket is refused even in a signed-in browser.
 * The origin rule is the REST one: Origin, else Referer's origin, must be the service's own or in
 * CORS_ORIGINS when either is sent (an unparsable Referer counts as the foreign origin `null`).
 */
@Injectable()
export class StreamAuthService {
  constructor(
    private readonly tickets: SseTicketService,
    private readonly tokens: TokenStorage,
    private readonly authors: AuthorRepository,
    private readonly cookies: SessionCookieService,
    private readonly origins: OriginPolicy,
  ) {}

  async authenticate(req: Request): Promise<StreamIdentity> {
    const origin = this.origins.originOf(req);
    if (origin !== undefined && !this.origins.allows(origin, req)) {
      throw new ForbiddenException(`Origin ${origin} is not allowed`);
    }
    const identity = await this.identify(req);
    const author = identity && (await this.authors.findById(identity.userId));
    if (!identity || !author || author.bannedAt !== null) {
      throw new UnauthorizedException('A valid ticket, session cookie or bearer token is required');
    }
    return identity;
  }

  private async identify(req: Request): Promise<StreamIdentity | null> {
    const ticket = req.query.ticket;
    if (ticket !== undefined) {
      if (typeof ticket !== 'string') return null;
      const claim = await this.tickets.redeem(ticket, req.ip ?? null);
      const session = claim && (await this.tokens.findSession(claim.userId, claim.jti));
      return session
        ? { userId: session.userId, jti: session.jti, expiresAt: session.expiresAt }
        : null;
    }
    const token = this.cookies.read(req) ?? BEARER.exec(req.get('authorization') ?? '')?.[1];
    if (!token) return null;
    const session = await this.tokens.verifySession(token);
    if (!session) return null;
    return {
      userId: session.userId,
      jti: session.jti,
      expiresAt: Math.min(session.claims.exp, session.expiresAt),
    };
  }
}
