import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthorRepository } from '../infra/database/tables/author.repository';
import { FollowerRepository } from '../infra/database/tables/follower.repository';
import {
  type NewNotification,
  NotificationRepository,
} from '../infra/database/tables/notification.repository';
import { REDIS_STORE, type RedisStore } from '../infra/redis/redis-store';
import { channelFor, toWire } from './notification-channels';
import type { Notification } from '../infra/database/tables/notification.entity';

/** Followers notified per INSERT and per pipelined round trip of PUBLISH. */
const FANOUT_BATCH = 1000;

export interface FollowerNotice {
  followerId: number;
  authorId: number;
  action: 'create' | 'delete';
}

export interface ShoutNotice {
  shoutId: number;
  authorId: number;
  title: string;
}

/**
 * Creates notifications: each is stored first, then published on its Redis channel, so that a
 * stream that reconnects with Last-Event-ID can replay what it missed (README, "Real-time notifications"). A failed
 * publish is logged and not thrown: the row is stored, so the notification is not lost.
 */
@Injectable()
export class NotifyService {
  private readonly logger = new Logger(NotifyService.name);

  constructor(
    private readonly notifications: NotificationRepository,
    private readonly followers: FollowerRepository,
    private readonly authors: AuthorRepository,
    @Inject(REDIS_STORE) private readonly store: RedisStore,
  ) {}

  async notify(
    userId: number,
    type: string,
    action: string,
    entity: string,
    payload: Record<string, unknown> = {},
  ): Promise<Notification> {
    const stored = await this.notifications.insert({
      recipientId: userId,
      type,
      action,
      entity,
      payload,
    });
    try {
      await this.store.publish(channelFor(type, userId), JSON.stringify(toWire(stored)));
    } catch (error) {
      this.logger.warn(`Notification ${stored.id} stored but not published: ${message(error)}`);
    }
    return stored;
  }

  /** Tells the followed author who started or stopped following them. Null when the follower is gone. */
  async notifyFollower({
    followerId,
    authorId,
    action,
  }: FollowerNotice): Promise<Notification | null> {
    const follower = await this.authors.findById(followerId);
    if (!follower) return null;
    return this.notify(authorId, 'follower', action, 'follower', {
      follower_id: followerId,
      follower_name: follower.name || follower.slug,
      following_id: authorId,
    });
  }

  /**
   * Tells every follower of the author about a new shout, a batch at a time: one INSERT and one
   * pipelined round trip of PUBLISH per batch, so 10,000 followers cost 10 of each. Resolves with
   * how many notifications were stored.
   */
  async notifyShout({ shoutId, authorId, title }: ShoutNotice): Promise<number> {
    const author = await this.authors.findById(authorId);
    if (!author) return 0;
    const payload = {
      shout_id: shoutId,
      title,
      author_id: authorId,
      author_name: author.name || author.slug,
    };
    let count = 0;
    for await (const followerIds of this.followers.followerIds(authorId, FANOUT_BATCH)) {
      const rows: NewNotification[] = followerIds.map((recipientId) => ({
        recipientId,
        type: 'shout',
        action: 'create',
        entity: 'shout',
        payload,
      }));
      const stored = await this.notifications.insertMany(rows);
      count += stored.length;
      await this.publishBatch(stored);
    }
    return count;
  }

  private async publishBatch(stored: Notification[]): Promise<void> {
    const batch = this.store.pipeline();
    for (const notification of stored) {
      batch.publish(
        channelFor(notification.type, notification.recipientId),
        JSON.stringify(toWire(notification)),
      );
    }
    try {
      const results = await batch.exec();
      const failed = results.filter((result) => result instanceof Error).length;
      if (failed > 0) this.logger.warn(`${failed} of ${stored.length} notifications not published`);
    } catch (error) {
      this.logger.warn(
        `${stored.length} notifications stored but not published: ${message(error)}`,
      );
    }
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
