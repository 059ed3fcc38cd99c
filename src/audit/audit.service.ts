import { Injectable } from '@nestjs/common';
import type { ClientInfo } from '../infra/http/client-info.decorator';
import {
  AuditEventRepository,
  type AuditEventFilter,
} from '../infra/database/tables/audit-event.repository';
import type { AuditEvent, AuditEventType } from '../infra/database/tables/audit-event.entity';

export interface AuditDetails {
  authorId?: number | null;
  client?: ClientInfo;
  data?: Record<string, unknown>;
}

/** Writes the security events (README, "Endpoints so far"), each with the client's IP and user agent. */
@Injectable()
export class AuditService {
  constructor(private readonly events: AuditEventRepository) {}

  record(type: AuditEventType, details: AuditDetails = {}): Promise<void> {
    return this.events.insert({
      type,
      authorId: details.authorId ?? null,
      ip: details.client?.ip ?? null,
      userAgent: details.client?.userAgent ?? null,
      data: details.data,
    });
  }

  list(filter: AuditEventFilter): Promise<AuditEvent[]> {
    return this.events.list(filter);
  }
}
