import { Args, Context, ID, Resolver, Subscription } from '@nestjs/graphql';
import { NotificationType } from '../notifications/notifications.types';
import { AuthenticatesItself } from '../permissions/access.decorator';
import { NotificationSockets, type SocketConnection } from './notification-socket.service';

/** The live side of the `notifications` query, over WebSocket (README, "Real time over WebSocket"). */
@Resolver()
export class NotificationsSubscriptionResolver {
  constructor(private readonly sockets: NotificationSockets) {}

  @Subscription(() => NotificationType, {
    name: 'notifications',
    description:
      'Your notifications as they are stored; with `after`, those stored after that id first. ' +
      'seenAt is always null here.',
    resolve: (notification: NotificationType) => notification,
  })
  // connection_init's token or ticket, else the upgrade's cookie with an allowed Origin.
  @AuthenticatesItself('token|ticket|cookie')
  notifications(
    @Context('socket') socket: SocketConnection | undefined,
    @Args('after', { type: () => ID, nullable: true }) after?: string | null,
  ): Promise<AsyncIterableIterator<NotificationType>> {
    return this.sockets.follow(socket, after);
  }
}
