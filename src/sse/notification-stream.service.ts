import { Inject, Injectable, Logger, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore, type Subscription } from '../infra/redis/redis-store';
import { storedNotificationId } from '../notifications/notification-channels';
import { NotificationFeed } from '../notifications/notification-feed.service';
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
 * One user's stream: `retry` and `connected` first, then it subscribes to the user's channels and
 * catches up: it reads what was stored after its position while live messages that arrive
 * meanwhile wait behind that replay, and an id already sent is skipped, so there is no gap and no
 * duplicate, whether the stream resumed or is new. It catches up again whenever the registry asks
 * (the subscriber connection came back after an outage, whose messages were lost). Heartbeats keep
 * its slot; the lifetime cap, the token's expiry, a revocation or shutdown end it. The teardown
 * leaves no subscription, timer or slot behind.
 */
@Injectable()
export class NotificationStream {
  private readonly logger = new Logger(NotificationStream.name);

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly feed: NotificationFeed,
    private readonly registry: StreamRegistry,
    private readonly metrics: StreamMetrics,
    private readonly config: AppConfig,
  ) {}

  open(identity: StreamIdentity, start: StreamStart): Observable<MessageEvent> {
    const { userId, jti } = identity;
    const { heartbeatS, maxLifetimeS, replayLimit } = this.config.sse;
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
      let lastSentId = start.position;
      // Catch-ups asked for and not finished; live notifications wait while there is one. The
      // first is the one that follows subscribing.
      let catchUpsPending = 1;
      let catchUps: Promise<unknown> = Promise.resolve();
      const waiting: { id: number; raw: string }[] = [];
      const subscriptions: Subscription[] = [];
      const timers: ReturnType<typeof setTimeout>[] = [];

      // Nest numbers every event that has no id with a counter of its own, which a client would
      // send back as Last-Event-ID. So events other than stored notifications carry the stream's
      // position instead: the id of the last notification delivered, or where the stream began.
      const send = (event: MessageEvent) => {
        if (closed) return;
        subscriber.next(event.comment === undefined ? { id: String(lastSentId), ...event } : event);
        if (event.data !== undefined) this.metrics.delivered.inc();
      };
      const deliver = (raw: string, id: number | undefined) => {
        if (id === undefined) return send({ data: raw });
        if (id <= lastSentId) return;
        lastSentId = id;
        send({ id: String(id), data: raw });
      };
      const onMessage = (raw: string) => {
        let message: unknown;
        try {
          message = JSON.parse(raw);
        } catch {
          this.metrics.dropped.inc();
          return;
        }
        const id = storedNotificationId(message);
        if (catchUpsPending > 0 && id !== undefined) waiting.push({ id, raw });
        else deliver(raw, id);
      };
      /** Sends what was stored after the position, then the live notifications that waited. */
      const catchUp = async (after?: Promise<unknown>) => {
        try {
          await after;
          if (closed) return;
          const missed = await this.feed.after(userId, lastSentId, replayLimit);
          for (const { id, data } of missed) deliver(data, id);
        } finally {
          catchUpsPending--;
          if (catchUpsPending === 0) {
            for (const { id, raw } of waiting.sort((a, b) => a.id - b.id)) deliver(raw, id);
            waiting.length = 0;
          }
        }
      };
      const close = (reason: CloseReason) => {
        if (closed) return;
        if (reason !== 'expired') send({ data: JSON.stringify({ type: reason }) });
        subscriber.complete();
      };

      const handle: StreamHandle = {
        id: start.slotId,
        userId,
        jti,
        close,
        catchUp: (after) => {
          // Counted at once, so that no live message moves the position before the replay ran.
          catchUpsPending++;
          catchUps = catchUps.then(() =>
            catchUp(after).catch((error: Error) => {
              // The client resumes from its position after `reconnect`: nothing is lost.
              this.logger.warn(`stream catch-up failed, told to reconnect: ${error.message}`);
              close('reconnect');
            }),
          );
          return catchUps;
        },
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

      const follow = async () => {
        // All channels at once: the store sends them in one SUBSCRIBE.
        const subscribed = await Promise.allSettled(
          this.feed.channelsOf(userId).map((channel) => this.store.subscribe(channel, onMessage)),
        );
        for (const result of subscribed) {
          if (result.status !== 'fulfilled') continue;
          if (closed) void result.value.unsubscribe();
          else subscriptions.push(result.value);
        }
        const failed = subscribed.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
        if (start.resumed) this.metrics.replays.inc();
        await catchUp();
      };
      catchUps = follow().catch((error: unknown) => {
        if (!closed) subscriber.error(error);
      });

      return () => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        for (const subscription of subscriptions) void subscription.unsubscribe();
        this.registry.remove(slot);
      };
    });
  }
}
