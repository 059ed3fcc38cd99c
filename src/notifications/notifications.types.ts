import { ArgsType, Field, Float, ID, ObjectType } from '@nestjs/graphql';
import { IsArray, IsBoolean, IsOptional, IsString } from 'class-validator';
import { Connection, PageArgs } from '../graphql/pagination';
import type { Notification } from '../infra/database/tables/notification.entity';
import type { WireNotification } from './notification-channels';

@ObjectType('Notification')
export class NotificationType {
  @Field(() => ID) id: string;
  @Field({ description: 'follower, shout, …' }) type: string;
  @Field({ description: 'create, delete, …' }) action: string;
  @Field() entity: string;
  @Field({
    description: 'The payload as a JSON object, in the original platform’s notification format',
  })
  payload: string;
  @Field(() => Float) createdAt: number;
  @Field(() => Float, { nullable: true }) seenAt: number | null;

  static of(notification: Notification): NotificationType {
    return {
      id: notification.id,
      type: notification.type,
      action: notification.action,
      entity: notification.entity,
      payload: JSON.stringify(notification.payload),
      createdAt: notification.createdAt,
      seenAt: notification.seenAt,
    };
  }

  /** A notification as it arrives on a live stream: new, so not seen yet. */
  static fromWire(wire: WireNotification): NotificationType {
    return {
      id: String(wire.id),
      type: wire.type,
      action: wire.action,
      entity: wire.entity,
      payload: JSON.stringify(wire.payload),
      createdAt: wire.created_at,
      seenAt: null,
    };
  }
}

@ObjectType()
export class NotificationConnection extends Connection(NotificationType) {}

@ArgsType()
export class NotificationsArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true, description: 'Only those not marked seen yet' })
  @IsOptional()
  @IsBoolean()
  unseenOnly?: boolean;
}

@ArgsType()
export class MarkSeenArgs {
  // Size and form are checked by NotificationsService, which answers BAD_USER_INPUT.
  @Field(() => [ID], { description: 'At most 1000 ids of your own notifications' })
  @IsArray()
  @IsString({ each: true })
  ids: string[];
}
