import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Notification } from './notification.entity';
import { nowSeconds } from './epoch-seconds.transformer';

export interface NewNotification {
  recipientId: number;
  type: string;
  action: string;
  entity: string;
  payload?: Record<string, unknown>;
  /** Epoch seconds; now when left out. */
  createdAt?: number;
}

export interface NotificationListOptions {
  /** Only notifications with an id below this one (keyset pagination, newest first). */
  beforeId?: string;
  unseenOnly: boolean;
  limit: number;
}

/** A `notification` row as pg returns it from raw SQL (bigint as string, jsonb parsed). */
interface NotificationRow {
  id: string;
  recipient_id: number;
  type: string;
  action: string;
  entity: string;
  payload: Record<string, unknown>;
  created_at: string;
  seen_at: string | null;
}

@Injectable()
export class NotificationRepository {
  constructor(
    @InjectRepository(Notification) private readonly notifications: Repository<Notification>,
  ) {}

  async insert(row: NewNotification): Promise<Notification> {
    const [stored] = await this.insertMany([row]);
    return stored;
  }

  /**
   * Stores a batch with one statement, whatever its size: the columns go as six arrays, so the
   * number of bind parameters stays fixed. Resolves with the stored rows, in the order given.
   */
  async insertMany(rows: NewNotification[]): Promise<Notification[]> {
    if (rows.length === 0) return [];
    const now = nowSeconds();
    const inserted: NotificationRow[] = await this.notifications.query(
      `INSERT INTO notification (recipient_id, type, action, entity, payload, created_at)
       SELECT recipient_id, type, action, entity, payload, created_at
         FROM unnest($1::integer[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::bigint[])
              WITH ORDINALITY AS input(recipient_id, type, action, entity, payload, created_at, position)
        ORDER BY position
       RETURNING *`,
      [
        rows.map((row) => row.recipientId),
        rows.map((row) => row.type),
        rows.map((row) => row.action),
        rows.map((row) => row.entity),
        rows.map((row) => JSON.stringify(row.payload ?? {})),
        rows.map((row) => row.createdAt ?? now),
      ],
    );
    // Ids are drawn in insertion order, which ORDER BY position fixes.
    return inserted.map(toEntity).sort((a, b) => compareIds(a.id, b.id));
  }

  /** The id of the recipient's newest notification, or 0 when they have none. */
  async latestId(recipientId: number): Promise<number> {
    // Raw SQL: every stream that opens asks this (no query builder on that path).
    const [row] = (await this.notifications.query(
      'SELECT MAX(id) AS latest FROM notification WHERE recipient_id = $1',
      [recipientId],
    )) as { latest: string | null }[];
    return Number(row?.latest ?? 0);
  }

  /** The recipient's notifications after `afterId`, oldest first (SSE replay on Last-Event-ID). */
  after(recipientId: number, afterId: string, limit: number): Promise<Notification[]> {
    return this.notifications
      .createQueryBuilder('notification')
      .where('notification.recipient_id = :recipientId', { recipientId })
      .andWhere('notification.id > :afterId', { afterId })
      .orderBy('notification.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** Newest first. */
  list(recipientId: number, options: NotificationListOptions): Promise<Notification[]> {
    const query = this.notifications
      .createQueryBuilder('notification')
      .where('notification.recipient_id = :recipientId', { recipientId })
      .orderBy('notification.id', 'DESC');
    if (options.unseenOnly) query.andWhere('notification.seen_at IS NULL');
    if (options.beforeId !== undefined) {
      query.andWhere('notification.id < :beforeId', { beforeId: options.beforeId });
    }
    return query.limit(options.limit).getMany();
  }

  countUnseen(recipientId: number): Promise<number> {
    return this.notifications
      .createQueryBuilder('notification')
      .where('notification.recipient_id = :recipientId', { recipientId })
      .andWhere('notification.seen_at IS NULL')
      .getCount();
  }

  /**
   * Marks the recipient's own notifications among `ids` as seen; ids of other recipients' rows are
   * ignored. Resolves with how many changed (already seen ones do not count).
   */
  async markSeen(recipientId: number, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.notifications
      .createQueryBuilder()
      .update(Notification)
      .set({ seenAt: nowSeconds() })
      .where('recipient_id = :recipientId', { recipientId })
      .andWhere('id = ANY(:ids)', { ids })
      .andWhere('seen_at IS NULL')
      .execute();
    return result.affected ?? 0;
  }

  /** Resolves with how many changed. */
  async markAllSeen(recipientId: number): Promise<number> {
    const result = await this.notifications
      .createQueryBuilder()
      .update(Notification)
      .set({ seenAt: nowSeconds() })
      .where('recipient_id = :recipientId', { recipientId })
      .andWhere('seen_at IS NULL')
      .execute();
    return result.affected ?? 0;
  }
}

function toEntity(row: NotificationRow): Notification {
  return Object.assign(new Notification(), {
    id: String(row.id),
    recipientId: Number(row.recipient_id),
    type: row.type,
    action: row.action,
    entity: row.entity,
    payload: row.payload,
    createdAt: Number(row.created_at),
    seenAt: row.seen_at === null ? null : Number(row.seen_at),
  });
}

/** Orders bigint ids given as strings without losing precision. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
