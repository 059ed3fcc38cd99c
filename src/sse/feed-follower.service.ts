import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore, type Subscription } from '../infra/redis/redis-store';
import { storedNotificationId } from '../notifications/notification-channels';
import { NotificationFeed } from '../notifications/notification-feed.service';
import { StreamMetrics } from './stream-metrics.service';

/** Gets each message once, in order: a stored notification with its id, anything else without. */
export type FeedSink = (raw: string, id: number | undefined) => void;

/** One user's notifications followed from a position, whatever carries them to the client. */
export interface FeedFollower {
  /** The id of the last stored notification delivered, or the position it started from. */
  readonly position: number;
  /** Settles once subscribed and caught up from the start; rejects when subscribing failed. */
  readonly started: Promise<void>;
  /**
   * Holds live notifications back from now, and once `after` settled, delivers what was stored
   * after the position, then them. Rejects when that read failed (the live ones are delivered).
   */
  catchUp(after?: Promise<unknown>): Promise<void>;
  /** Unsubscribes; nothing is delivered afterwards. Idempotent. */
  stop(): void;
}

/**
 * Follows a user's notifications with no gap and no duplicate, the part of a stream that does not
 * depend on its transport: it subscribes to the user's channels, then catches up (reads what was
 * stored after its position, up to SSE_REPLAY_LIMIT) while live notifications that arrive meanwhile
 * wait behind that replay; an id already delivered is skipped. It catches up again when asked (the
 * subscriber connection came back after an outage, whose messages were lost), and no live message
 * moves the position before that replay ran. Messages that are not valid JSON are dropped and
 * counted.
 */
@Injectable()
export class FeedFollowers {
  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly feed: NotificationFeed,
    private readonly metrics: StreamMetrics,
    private readonly config: AppConfig,
  ) {}

  follow(userId: number, position: number, sink: FeedSink): FeedFollower {
    const { replayLimit } = this.config.sse;
    let stopped = false;
    let lastSentId = position;
    // Catch-ups asked for and not finished; live notifications wait while there is one. The first
    // is the one that follows subscribing.
    let catchUpsPending = 1;
    let catchUps: Promise<unknown> = Promise.resolve();
    const waiting: { id: number; raw: string }[] = [];
    const subscriptions: Subscription[] = [];

    const deliver = (raw: string, id: number | undefined) => {
      if (stopped) return;
      if (id === undefined) return sink(raw, undefined);
      if (id <= lastSentId) return;
      lastSentId = id;
      sink(raw, id);
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
    const replay = async (after?: Promise<unknown>) => {
      try {
        await after;
        if (stopped) return;
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
    const start = async () => {
      // All channels at once: the store sends them in one SUBSCRIBE.
      const subscribed = await Promise.allSettled(
        this.feed.channelsOf(userId).map((channel) => this.store.subscribe(channel, onMessage)),
      );
      for (const result of subscribed) {
        if (result.status !== 'fulfilled') continue;
        if (stopped) void result.value.unsubscribe();
        else subscriptions.push(result.value);
      }
      const failed = subscribed.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      await replay();
    };
    const started = start();
    catchUps = started.catch(() => undefined);

    return {
      get position() {
        return lastSentId;
      },
      started,
      catchUp: (after) => {
        // Counted at once, so that no live message moves the position before the replay ran.
        catchUpsPending++;
        const done = catchUps.then(() => replay(after));
        catchUps = done.catch(() => undefined);
        return done;
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        for (const subscription of subscriptions) void subscription.unsubscribe();
      },
    };
  }
}
