import { Module } from '@nestjs/common';
import { NotificationFeed } from './notification-feed.service';

/**
 * The notifications a live transport reads, on their own so that the standalone connect process
 * gets the feed without the GraphQL resolvers and the fan-out of NotificationsModule.
 */
@Module({ providers: [NotificationFeed], exports: [NotificationFeed] })
export class NotificationFeedModule {}
