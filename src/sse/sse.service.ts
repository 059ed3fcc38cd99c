import {
  BadRequestException,
  Injectable,
  type MessageEvent,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import type { AuthContext } from '../permissions/auth-context';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import { TooManyRequestsException } from '../infra/http/too-many-requests.exception';
import { NotificationFeed } from '../notifications/notification-feed.service';
import { NotificationStream } from './notification-stream.service';
import { SseTicketService } from './sse-ticket.service';
import { StreamAuthService } from './stream-auth.service';
import { StreamRegistry } from './stream-registry.service';

const EVENT_ID = /^\d{1,15}$/;

/** Opening streams and issuing tickets: what the SSE routes do. */
@Injectable()
export class SseService {
  constructor(
    private readonly auth: StreamAuthService,
    private readonly stream: NotificationStream,
    private readonly tickets: SseTicketService,
    private readonly registry: StreamRegistry,
    private readonly feed: NotificationFeed,
  ) {}

  issueTicket(auth: AuthContext, client: ClientInfo) {
    return this.tickets.issue({ userId: auth.author.id, jti: auth.session.jti, ip: client.ip });
  }

  /**
   * Authenticates, takes a slot under SSE_MAX_PER_USER and finds where the stream starts, all
   * before the stream is returned: Nest sends the 200 on the next turn of the event loop after
   * that, so a refusal must come first. `signal` aborts when the client leaves; a slot taken for
   * a stream that never starts is released then.
   */
  async connect(req: Request, signal: AbortSignal): Promise<Observable<MessageEvent>> {
    if (this.registry.closing) {
      // Without it the client's keep-alive connection would hold the closing server open.
      req.res?.setHeader('Connection', 'close');
      throw new ServiceUnavailableException('Shutting down; reconnect to another instance');
    }
    const identity = await this.auth.authenticate(req);
    const lastEventId = this.lastEventId(req);
    const slotId = await this.registry.acquire(identity.userId);
    if (slotId === null) {
      throw new TooManyRequestsException('Too many open streams for this user');
    }
    const slot = { id: slotId, userId: identity.userId };
    try {
      // Without Last-Event-ID the stream starts at the newest stored notification.
      const position = lastEventId ?? (await this.feed.latestId(identity.userId));
      return this.stream.open(identity, {
        slotId,
        position,
        resumed: lastEventId !== undefined,
        signal,
      });
    } catch (error) {
      this.registry.remove(slot);
      throw error;
    }
  }

  /** `Last-Event-ID`, or `?last_event_id=` for clients that cannot set headers. */
  private lastEventId(req: Request): number | undefined {
    const raw = req.get('last-event-id') ?? req.query.last_event_id;
    if (raw === undefined || raw === '') return undefined;
    if (typeof raw !== 'string' || !EVENT_ID.test(raw)) {
      throw new BadRequestException('Last-Event-ID must be a notification id');
    }
    return Number(raw);
  }
}
