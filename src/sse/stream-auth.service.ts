import { ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { OriginPolicy } from '../auth/origin-policy.service';
import { SessionCookieService } from '../auth/session-cookie.service';
import { clientInfoOf } from '../infra/http/client-info.decorator';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { type AuthContext, authOf } from '../permissions/auth-context';
import { type SessionData, SessionTokenManager } from '../tokens/session-token.service';
import { SseTicketService } from './sse-ticket.service';

/** Who a stream is for, and until when their session lasts. */
export interface StreamIdentity {
  userId: number;
  jti: string;
  /** Epoch seconds: the stream closes then. */
  expiresAt: number;
}

/** What a WebSocket client may send in `connection_init` (README, "Real time over WebSocket"). */
export type SocketCredentials = Record<string, unknown> & {
  token?: unknown;
  ticket?: unknown;
};

/**
 * Authenticates a stream request (README, "Real-time notifications"): a one-time `?ticket=`, else
 * the session the authentication middleware already found for this request (bearer header, else
 * cookie), verified once per request like every other route. A ticket decides alone: a stale
 * ticket does not fall back to the cookie, so a replayed ticket is refused even in a signed-in
 * browser. The origin rule is the REST one: Origin, else Referer's origin, must be the service's
 * own or in CORS_ORIGINS when either is sent (an unparsable Referer counts as the foreign `null`).
 */
@Injectable()
export class StreamAuthService {
  constructor(
    private readonly tickets: SseTicketService,
    private readonly sessions: SessionTokenManager,
    private readonly authors: AuthorRepository,
    private readonly origins: OriginPolicy,
    private readonly cookies: SessionCookieService,
  ) {}

  async authenticate(req: Request): Promise<StreamIdentity> {
    const origin = this.origins.originOf(req);
    if (origin !== undefined && !this.origins.allows(origin, req)) {
      throw new ForbiddenException(`Origin ${origin} is not allowed`);
    }
    const identity =
      req.query.ticket === undefined ? identityOf(authOf(req)) : await this.redeem(req);
    if (!identity) {
      throw new UnauthorizedException('A valid ticket, session cookie or bearer token is required');
    }
    return identity;
  }

  /**
   * Authenticates a WebSocket connection from its `connection_init` payload and the upgrade
   * request (whose Origin, when sent, was already allowed): a `ticket` decides alone, like
   * `?ticket=` on the stream; else a bearer `token`; else the session cookie, only when the upgrade
   * carried an allowed Origin, since a browser sends the cookie on any page's upgrade
   * (cross-site WebSocket hijacking). The URL is never read.
   */
  async authenticateSocket(
    req: Request,
    credentials: SocketCredentials | undefined,
  ): Promise<StreamIdentity | null> {
    if (credentials?.ticket !== undefined) {
      return typeof credentials.ticket === 'string'
        ? this.redeemTicket(credentials.ticket, req)
        : null;
    }
    const origin = this.origins.originOf(req);
    const cookie =
      origin !== undefined && this.origins.allows(origin, req) ? this.cookies.read(req) : undefined;
    const token = credentials?.token ?? cookie;
    if (token === undefined) return null;
    const session = await this.sessions.verifySession(token, clientInfoOf(req));
    return session && this.identityOfLive(session, Math.min(session.claims.exp, session.expiresAt));
  }

  private async redeem(req: Request): Promise<StreamIdentity | null> {
    const ticket = req.query.ticket;
    return typeof ticket === 'string' ? this.redeemTicket(ticket, req) : null;
  }

  private async redeemTicket(ticket: string, req: Request): Promise<StreamIdentity | null> {
    const claim = await this.tickets.redeem(ticket, req.ip ?? null);
    const session = claim && (await this.sessions.findSession(claim.userId, claim.jti));
    return session && this.identityOfLive(session, session.expiresAt);
  }

  /** The identity of a session whose author still exists and is not banned. */
  private async identityOfLive(
    session: SessionData,
    expiresAt: number,
  ): Promise<StreamIdentity | null> {
    const author = await this.authors.findById(session.userId);
    if (!author || author.bannedAt !== null) return null;
    return { userId: session.userId, jti: session.jti, expiresAt };
  }
}

function identityOf(auth: AuthContext | undefined): StreamIdentity | null {
  if (!auth) return null;
  const { session } = auth;
  return {
    userId: session.userId,
    jti: session.jti,
    expiresAt: Math.min(session.claims.exp, session.expiresAt),
  };
}
