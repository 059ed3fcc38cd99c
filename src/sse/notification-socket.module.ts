import { Module } from '@nestjs/common';
import { AuthCoreModule } from '../auth/auth-core.module';
import { GraphQLModule } from '../graphql/graphql.module';
import { NotificationFeedModule } from '../notifications/notification-feed.module';
import { NotificationSocketServer } from './notification-socket-server.service';
import { NotificationSockets } from './notification-socket.service';
import { NotificationsSubscriptionResolver } from './notifications-subscription.resolver';
import { SseModule } from './sse.module';

/**
 * The notification stream as a GraphQL subscription over WebSocket, sharing the SSE stream's
 * registry, cap and feed. Only the app imports it: the connect process serves no GraphQL.
 */
@Module({
  imports: [GraphQLModule, SseModule, AuthCoreModule, NotificationFeedModule],
  providers: [NotificationSocketServer, NotificationSockets, NotificationsSubscriptionResolver],
})
export class NotificationSocketModule {}
