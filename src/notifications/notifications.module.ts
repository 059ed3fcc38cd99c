import { Module } from '@nestjs/common';
import { NotificationFanout } from './notification-fanout.service';
import { NotificationsResolver } from './notifications.resolver';
import { NotificationsService } from './notifications.service';
import { NotifyService } from './notify.service';

/**
 * Notifications (SPEC sections 4, 5 and 7): stored, published on Redis for the SSE streams, created
 * from the publishing domain's events, and read and marked seen over GraphQL.
 */
@Module({
  providers: [NotifyService, NotificationFanout, NotificationsService, NotificationsResolver],
  exports: [NotifyService],
})
export class NotificationsModule {}
