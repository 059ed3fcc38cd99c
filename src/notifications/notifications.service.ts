import { BadRequestException, Injectable } from '@nestjs/common';
import { fetchPage, type Page, type PageArgs } from '../graphql/pagination';
import { NotificationRepository } from '../infra/database/tables/notification.repository';
import type { Notification } from '../infra/database/tables/notification.entity';

/** Most ids one markNotificationsSeen call accepts. */
const MAX_MARK_SEEN_IDS = 1000;

/** An id as the `notification` table has them: a bigserial, small enough to stay exact. */
const NOTIFICATION_ID = /^\d{1,18}$/;

/** A user's own notifications, for GraphQL. Every method acts on `recipientId`'s rows only. */
@Injectable()
export class NotificationsService {
  constructor(private readonly notifications: NotificationRepository) {}

  /** Newest first. */
  async list(
    recipientId: number,
    page: PageArgs & { unseenOnly?: boolean | null },
  ): Promise<Page<Notification>> {
    return fetchPage(
      page,
      (after, limit) =>
        this.notifications.list(recipientId, {
          beforeId: after === undefined ? undefined : String(after),
          unseenOnly: page.unseenOnly ?? false,
          limit,
        }),
      (notification) => notification.id,
      Number.MAX_SAFE_INTEGER,
    );
  }

  unseenCount(recipientId: number): Promise<number> {
    return this.notifications.countUnseen(recipientId);
  }

  /** How many of the recipient's notifications changed to seen; others' ids count for nothing. */
  markSeen(recipientId: number, ids: string[]): Promise<number> {
    if (ids.length > MAX_MARK_SEEN_IDS) {
      throw new BadRequestException(`At most ${MAX_MARK_SEEN_IDS} ids at a time`);
    }
    const invalid = ids.find((id) => !NOTIFICATION_ID.test(id));
    if (invalid !== undefined) {
      throw new BadRequestException(
        `Not a notification id: ${JSON.stringify(invalid.slice(0, 40))}`,
      );
    }
    return this.notifications.markSeen(recipientId, [...new Set(ids)]);
  }

  markAllSeen(recipientId: number): Promise<number> {
    return this.notifications.markAllSeen(recipientId);
  }
}
