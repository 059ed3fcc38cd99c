import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';

/** What a ticket stands for: one session, and the address it was issued to. */
export interface TicketClaim {
  userId: number;
  jti: string;
  ip: string | null;
}

const TICKET_BYTES = 24;
const TICKET_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

const ticketKey = (ticket: string) =>
  `sse_ticket:${createHash('sha256').update(ticket).digest('hex')}`;

/**
 * One-time stream tickets (README, "Real-time notifications"): for clients that cannot send the
 * cookie or a header to the stream's origin, on the SSE stream and in a WebSocket's
 * `connection_init` alike. Stored only by hash; redeeming deletes it (GETDEL), so a ticket works
 * once.
 */
@Injectable()
export class SseTicketService {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly config: AppConfig,
  ) {}

  async issue(claim: TicketClaim): Promise<{ ticket: string; expiresIn: number }> {
    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    const ttl = this.config.sse.ticketTtlS;
    await this.store.set(
      ticketKey(ticket),
      JSON.stringify({ user_id: claim.userId, jti: claim.jti, ip: claim.ip }),
      { ttlMs: ttl * 1000 },
    );
    return { ticket, expiresIn: ttl };
  }

  /**
   * The claim of a valid, unused ticket presented from the right address; null otherwise. A
   * ticket presented from another address is spent all the same: whoever holds a leaked ticket
   * must not get a second try.
   */
  async redeem(ticket: string, ip: string | null): Promise<TicketClaim | null> {
    if (!TICKET_PATTERN.test(ticket)) return null;
    const stored = await this.store.getdel(ticketKey(ticket));
    if (stored === null) return null;
    const claim = JSON.parse(stored) as { user_id: number; jti: string; ip: string | null };
    if (this.config.sse.ticketBindIp && claim.ip !== ip) return null;
    return { userId: claim.user_id, jti: claim.jti, ip: claim.ip };
  }
}
