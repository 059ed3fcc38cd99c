import { Injectable, NotFoundException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { SessionTokenManager } from '../tokens/session-token.service';
import type { SessionData } from '../tokens/session-token.service';
import type { AuthContext } from '../permissions/auth-context';
import type { ClientInfo } from '../infra/http/client-info.decorator';

/** One of an author's sessions, as listed to them. `id` is the session's jti. */
export interface SessionView {
  id: string;
  createdAt: number;
  lastActive: number;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export function sessionView(session: SessionData, currentJti?: string): SessionView {
  return {
    id: session.jti,
    createdAt: session.createdAt,
    lastActive: session.lastActive,
    expiresAt: session.expiresAt,
    ip: session.ip,
    userAgent: session.userAgent,
    current: session.jti === currentJti,
  };
}

/** An author's view of their own sessions: list them, end one, end all others. */
@Injectable()
export class AccountSessionsService {
  constructor(
    private readonly sessions: SessionTokenManager,
    private readonly audit: AuditService,
  ) {}

  async list(auth: AuthContext): Promise<SessionView[]> {
    const sessions = await this.sessions.listSessions(auth.author.id);
    return sessions.map((session) => sessionView(session, auth.session.jti));
  }

  /** Revokes one of the caller's sessions; 404 for an id that is not theirs (or already gone). */
  async revoke(auth: AuthContext, sessionId: string, client: ClientInfo): Promise<void> {
    const revoked = await this.sessions.revokeSession(auth.author.id, sessionId);
    if (!revoked) throw new NotFoundException('Session not found');
    await this.audit.record('session_revoked', {
      authorId: auth.author.id,
      client,
      data: { session_id: sessionId, current: sessionId === auth.session.jti },
    });
  }

  async revokeOthers(auth: AuthContext, client: ClientInfo): Promise<number> {
    const count = await this.sessions.revokeUserSessions(auth.author.id, {
      except: auth.session.jti,
    });
    await this.audit.record('session_revoked', {
      authorId: auth.author.id,
      client,
      data: { all_but_current: true, count },
    });
    return count;
  }
}
