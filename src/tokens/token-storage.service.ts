import { Injectable } from '@nestjs/common';
import {
  type DeviceInfo,
  type SessionData,
  type SessionReuseListener,
  SessionTokenManager,
  type VerifiedSession,
} from './session-token.service';

/** The small surface the rest of the code uses for sessions; the managers stay internal to tokens/. */
@Injectable()
export class TokenStorage {
  constructor(private readonly sessions: SessionTokenManager) {}

  createSession(userId: number, username: string, deviceInfo?: DeviceInfo): Promise<string> {
    return this.sessions.createSession(userId, { username, deviceInfo });
  }

  /** Null for an invalid or revoked token; a rotated-away one also revokes its successors. */
  verifySession(token: unknown, client?: DeviceInfo): Promise<VerifiedSession | null> {
    return this.sessions.verifySession(token, client);
  }

  /** `listener` hears of every rotated-away token presented again, after its chain was revoked. */
  onReuseDetected(listener: SessionReuseListener): () => void {
    return this.sessions.onReuseDetected(listener);
  }

  refreshSession(
    userId: number,
    oldToken: string,
    deviceInfo?: DeviceInfo,
  ): Promise<string | null> {
    return this.sessions.refreshSession(userId, oldToken, deviceInfo);
  }

  revokeSession(token: unknown): Promise<boolean> {
    return this.sessions.revokeSessionToken(token);
  }

  /** A renewed token for the same session when it is past half its life; else null. */
  slideSession(session: VerifiedSession): Promise<string | null> {
    return this.sessions.slideSession(session);
  }

  findSession(userId: number, jti: string): Promise<SessionData | null> {
    return this.sessions.findSession(userId, jti);
  }

  listSessions(userId: number): Promise<SessionData[]> {
    return this.sessions.listSessions(userId);
  }

  /** Revokes one session by id (jti); false when the user has no such session. */
  revokeSessionById(userId: number, jti: string): Promise<boolean> {
    return this.sessions.revokeSession(userId, jti);
  }

  revokeUserSessions(userId: number, options: { except?: string } = {}): Promise<number> {
    return this.sessions.revokeUserSessions(userId, options);
  }
}
