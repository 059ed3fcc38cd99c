import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuditEvent, type AuditEventType } from './audit-event.entity';
import { nowSeconds } from './epoch-seconds.transformer';

export interface NewAuditEvent {
  type: AuditEventType;
  authorId?: number | null;
  ip?: string | null;
  userAgent?: string | null;
  data?: Record<string, unknown>;
}

export interface AuditEventFilter {
  authorId?: number;
  type?: AuditEventType;
  /** Only events with an id below this one (keyset pagination, newest first). */
  beforeId?: string;
  limit: number;
}

@Injectable()
export class AuditEventRepository {
  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  async insert(event: NewAuditEvent): Promise<void> {
    await this.events.save(
      this.events.create({
        type: event.type,
        authorId: event.authorId ?? null,
        ip: event.ip ?? null,
        userAgent: event.userAgent ?? null,
        data: event.data ?? {},
        createdAt: nowSeconds(),
      }),
    );
  }

  /** Newest first. */
  list(filter: AuditEventFilter): Promise<AuditEvent[]> {
    const query = this.events.createQueryBuilder('event').orderBy('event.id', 'DESC');
    if (filter.authorId !== undefined) {
      query.andWhere('event.author_id = :authorId', { authorId: filter.authorId });
    }
    if (filter.type !== undefined) query.andWhere('event.type = :type', { type: filter.type });
    if (filter.beforeId !== undefined) {
      query.andWhere('event.id < :beforeId', { beforeId: filter.beforeId });
    }
    return query.limit(filter.limit).getMany();
  }
}
