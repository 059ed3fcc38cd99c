import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type SessionReuse } from '../tokens/session-token.service';
import { SessionTokenManager } from '../tokens/session-token.service';
import { AuditService } from './audit.service';

/**
 * Writes `session_reuse_detected` when a rotated-away session token is presented again (suspected
 * theft). tokens/ detects it where sessions are verified and calls back, so it needs nothing of
 * audit/ and the write happens after the caller's 401 is settled.
 */
@Injectable()
export class SessionReuseAuditor implements OnModuleInit, OnModuleDestroy {
  private unsubscribe?: () => void;

  constructor(
    private readonly sessions: SessionTokenManager,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.sessions.onReuseDetected((reuse) => this.record(reuse));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private record(reuse: SessionReuse): Promise<void> {
    return this.audit.record('session_reuse_detected', {
      authorId: reuse.userId,
      client: { ip: reuse.client?.ip ?? null, userAgent: reuse.client?.userAgent ?? null },
      data: { session_id: reuse.sessionId, revoked: reuse.revoked },
    });
  }
}
