import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { NotificationFeedModule } from './notification-feed.module';
import { NotificationFanout } from './notification-fanout.service';
import { NotificationsResolver } from './notifications.resolver';
import { NotificationsService } from './notifications.service';
import { NotifyService } from './notify.service';

/**
 * Notifications (README, "Real-time notifications"): stored, published on Redis for the SSE streams, created
 * from the publishing domain's events, and read and marked seen over GraphQL.
 */
@Module({
  imports: [EventsModule, NotificationFeedModule],
  providers: [NotifyService, NotificationFanout, NotificationsService, NotificationsResolver],
  exports: [NotifyService, NotificationFeedModule],
})
export class NotificationsModule {}
