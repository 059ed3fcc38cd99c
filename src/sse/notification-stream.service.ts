import { Injectable, Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { FeedFollowers } from './feed-follower.service';
import type { StreamIdentity } from './stream-auth.service';
import { StreamMetrics } from './stream-metrics.service';
import { type CloseReason, type StreamHandle, StreamRegistry } from './stream-registry.service';

/** What EventSource clients are told to wait before reconnecting (README, "Real-time notifications"). */
const RETRY_MS = 3000;
/** setTimeout's ceiling: a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export interface StreamStart {
  /** The slot taken under the per-user cap; the stream releases it when it ends. */
  slotId: string;
  /** The id the stream starts after: Last-Event-ID, or the newest stored notification. */
  position: number;
  /** Reconnected with Last-Event-ID (counted as a replay). */
  resumed: boolean;
  /** Aborts when the client leaves; releases the slot of a stream that never started. */
  signal: AbortSignal;
}

/**
 * One user's stream over SSE: `retry` and `connected` first, then the user's notifications as a
 * FeedFollower delivers them (no gap, no duplicate, whether the stream resumed or is new), caught
 * up again whenever the registry asks. Heartbeats keep its slot; the lifetime cap, the token's
 * expiry, a revocation or shutdown end it. The teardown leaves no subscription, timer or slot behind.
 */
@Injectable()
export class NotificationStream {
  private readonly logger = new Logger(NotificationStream.name);

  constructor(
    private readonly followers: FeedFollowers,
    private readonly registry: StreamRegistry,
    private readonly metrics: StreamMetrics,
    private readonly config: AppConfig,
  ) {}

  open(identity: StreamIdentity, start: StreamStart): Observable<MessageEvent> {
    const { userId, jti } = identity;
    const { heartbeatS, maxLifetimeS } = this.config.sse;
    const slot = { id: start.slotId, userId };
    let started = false;
    // Nest does not subscribe when the client left while the stream was being set up.
    const releaseUnstarted = () => {
      if (!started) this.registry.remove(slot);
    };
    if (start.signal.aborted) releaseUnstarted();
    else start.signal.addEventListener('abort', releaseUnstarted, { once: true });

    return new Observable<MessageEvent>((subscriber) => {
      started = true;
      start.signal.removeEventListener('abort', releaseUnstarted);
      let closed = false;
      const timers: ReturnType<typeof setTimeout>[] = [];

      // Nest numbers every event that has no id with a counter of its own, which a client would
      // send back as Last-Event-ID. So events other than stored notifications carry the stream's
      // position instead: the id of the last notification delivered, or where the stream began.
      const send = (event: MessageEvent) => {
        if (closed) return;
        subscriber.next(
          event.comment === undefined ? { id: String(follower.position), ...event } : event,
        );
        if (event.data !== undefined) this.metrics.delivered.inc();
      };
      const follower = this.followers.follow(userId, start.position, (raw, id) =>
        send(id === undefined ? { data: raw } : { id: String(id), data: raw }),
      );
      const close = (reason: CloseReason) => {
        if (closed) return;
        if (reason !== 'expired') send({ data: JSON.stringify({ type: reason }) });
        subscriber.complete();
      };

      const handle: StreamHandle = {
        id: start.slotId,
        userId,
        jti,
        transport: 'sse',
        close,
        catchUp: (after) =>
          follower.catchUp(after).catch((error: Error) => {
            // The client resumes from its position after `reconnect`: nothing is lost.
            this.logger.warn(`stream catch-up failed, told to reconnect: ${error.message}`);
            close('reconnect');
          }),
      };
      send({ retry: RETRY_MS, data: JSON.stringify({ type: 'connected', user_id: userId }) });
      this.registry.add(handle);
      timers.push(
        setInterval(() => {
          send({ comment: 'ping' });
          this.registry.refresh(start.slotId);
        }, heartbeatS * 1000),
        setTimeout(() => close('reconnect'), maxLifetimeS * 1000),
        setTimeout(
          () => close('expired'),
          Math.min(MAX_TIMER_MS, Math.max(0, identity.expiresAt * 1000 - Date.now())),
        ),
      );
      follower.started.then(
        () => {
          if (start.resumed) this.metrics.replays.inc();
        },
        (error: unknown) => {
          if (!closed) subscriber.error(error);
        },
      );

      return () => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        follower.stop();
        this.registry.remove(slot);
      };
    });
  }
}
