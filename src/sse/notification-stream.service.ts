import { Inject, Injectable, type MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { NotificationRepository } from '../infra/database/repositories/notification.repository';
import { REDIS_STORE, type RedisStore, type Subscription } from '../infra/redis/redis-store';
import { channelsOf, toWire } from '../notifications/notification-channels';
import type { StreamIdentity } from './stream-auth.service';
import { type CloseReason, type StreamHandle, StreamRegistry } from './stream-registry.service';

/** What EventSource clients are told to wait before reconnecting (SPEC section 5). */
export const RETRY_MS = 3000;
/** setTimeout's ceiling: a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** The `id` of a stored notification, when a message carries one. */
function notificationId(message: unknown): number | undefined {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/**
 * One user's stream: `retry` and `connected` first; then, after a reconnection with Last-Event-ID,
 * the stored notifications missed, then live messages from the user's channels, with no gap and no
 * duplicate (the channels are subscribed before the replay is read, and live messages that arrive
 * meanwhile wait behind it; ids already sent are skipped). Heartbeats, the lifetime cap and the
 * token's expiry close or keep it; the teardown leaves no subscription, timer or registry entry.
 */
@Injectable()
export class NotificationStream {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly notifications: NotificationRepository,
    private readonly registry: StreamRegistry,
    private readonly config: AppConfig,
  ) {}

  open(
    identity: StreamIdentity,
    options: { slotId: string; lastEventId?: number; position: number },
  ): Observable<MessageEvent> {
    const { userId, jti } = identity;
    const { heartbeatS, maxLifetimeS, replayLimit } = this.config.sse;

    return new Observable<MessageEvent>((subscriber) => {
      let closed = false;
      let lastSentId = options.lastEventId ?? options.position;
      let replaying = options.lastEventId !== undefined;
      const waiting: { id: number; raw: string }[] = [];
      const subscriptions: Subscription[] = [];

      // Nest numbers every event that has no id with a counter of its own, which a client would
      // send back as Last-Event-ID. So events other than stored notifications carry the stream's
      // position instead: the id of the last notification it delivered (or the newest stored one).
      const send = (event: MessageEvent) => {
        if (closed) return;
        subscriber.next(event.comment === undefined ? { id: String(lastSentId), ...event } : event);
        if (event.data !== undefined) this.registry.delivered.inc();
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
          this.registry.dropped.inc();
          return;
        }
        const id = notificationId(message);
        if (replaying && id !== undefined) waiting.push({ id, raw });
        else deliver(raw, id);
      };
      const handle: StreamHandle = {
        id: options.slotId,
        userId,
        jti,
        close: (reason: CloseReason) => {
          if (closed) return;
          if (reason !== 'expired') send({ data: JSON.stringify({ type: reason }) });
          subscriber.complete();
        },
      };

      send({ retry: RETRY_MS, data: JSON.stringify({ type: 'connected', user_id: userId }) });
      this.registry.add(handle);
      const heartbeat = setInterval(() => {
        send({ comment: 'ping' });
        this.registry.refresh(options.slotId);
      }, heartbeatS * 1000);
      const lifetime = setTimeout(() => handle.close('reconnect'), maxLifetimeS * 1000);
      const expiry = setTimeout(
        () => handle.close('expired'),
        Math.min(MAX_TIMER_MS, Math.max(0, identity.expiresAt * 1000 - Date.now())),
      );

      const start = async () => {
        for (const channel of channelsOf(userId)) {
          const subscription = await this.store.subscribe(channel, onMessage);
          if (closed) return void subscription.unsubscribe();
          subscriptions.push(subscription);
        }
        if (!replaying) return;
        const missed = await this.notifications.after(userId, String(lastSentId), replayLimit);
        this.registry.replays.inc();
        for (const notification of missed) {
          deliver(JSON.stringify(toWire(notification)), Number(notification.id));
        }
        replaying = false;
        for (const { id, raw } of waiting.sort((a, b) => a.id - b.id)) deliver(raw, id);
        waiting.length = 0;
      };
      start().catch((error: Error) => {
        if (!closed) subscriber.error(error);
      });

      return () => {
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(lifetime);
        clearTimeout(expiry);
        for (const subscription of subscriptions) void subscription.unsubscribe();
        this.registry.remove(handle);
      };
    });
  }
}
