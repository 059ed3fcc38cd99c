import { Injectable } from '@nestjs/common';
import { NotificationRepository } from '../infra/database/tables/notification.repository';
import { channelsOf, toWire } from './notification-channels';

/** A stored notification as a stream sends it: its id and its wire form, serialized. */
export interface FeedEntry {
  id: number;
  data: string;
}

/**
 * What a live transport needs of the notifications: the channels to subscribe to, where a new
 * stream starts, and what was stored after a position, already in the wire form.
 */
@Injectable()
export class NotificationFeed {
  constructor(private readonly notifications: NotificationRepository) {}

  channelsOf(userId: number): string[] {
    return channelsOf(userId);
  }

  /** The id of the user's newest stored notification, 0 when none. */
  latestId(userId: number): Promise<number> {
    return this.notifications.latestId(userId);
  }

  /** Up to `limit` of the user's notifications stored after `afterId`, oldest first. */
  async after(userId: number, afterId: number, limit: number): Promise<FeedEntry[]> {
    const stored = await this.notifications.after(userId, String(afterId), limit);
    return stored.map((notification) => {
      const wire = toWire(notification);
      return { id: wire.id, data: JSON.stringify(wire) };
    });
  }
}
