import { Injectable } from '@nestjs/common';
import {
  type DeviceInfo,
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

  verifySession(token: unknown): Promise<VerifiedSession | null> {
    return this.sessions.verifySession(token);
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
}
