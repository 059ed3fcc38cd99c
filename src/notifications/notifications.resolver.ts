import { Args, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Author } from '../infra/database/tables/author.entity';
import { AuthRequired, CurrentUser } from '../permissions/access.decorator';
import { NotificationsService } from './notifications.service';
import {
  MarkSeenArgs,
  NotificationConnection,
  NotificationsArgs,
  NotificationType,
} from './notifications.types';

/** The signed-in user's own notifications (README, "Endpoints so far"). */
@Resolver()
@AuthRequired()
export class NotificationsResolver {
  constructor(private readonly service: NotificationsService) {}

  @Query(() => NotificationConnection, { description: 'Newest first' })
  async notifications(
    @CurrentUser() user: Author,
    @Args() args: NotificationsArgs,
  ): Promise<NotificationConnection> {
    const page = await this.service.list(user.id, args);
    return { nodes: page.nodes.map(NotificationType.of), pageInfo: page.pageInfo };
  }

  @Query(() => Int)
  unseenNotificationsCount(@CurrentUser() user: Author): Promise<number> {
    return this.service.unseenCount(user.id);
  }

  @Mutation(() => Int, { description: 'How many of your notifications became seen' })
  markNotificationsSeen(@CurrentUser() user: Author, @Args() args: MarkSeenArgs): Promise<number> {
    return this.service.markSeen(user.id, args.ids);
  }

  @Mutation(() => Int, { description: 'How many of your notifications became seen' })
  markAllNotificationsSeen(@CurrentUser() user: Author): Promise<number> {
    return this.service.markAllSeen(user.id);
  }
}
