import type { Notification } from './notification.entity';

/**
 * The notification types with a Redis channel of their own (SPEC section 5); an SSE stream listens
 * on all three for its user. Any other type goes out on `notifications:{user_id}`.
 */
export const NOTIFICATION_TYPES_WITH_CHANNEL = ['notifications', 'follower', 'shout'] as const;

export type NotificationChannelType = (typeof NOTIFICATION_TYPES_WITH_CHANNEL)[number];

/** A notification as SSE clients receive it: the seed format, plus the row's id and time. */
export interface WireNotification {
  id: number;
  type: string;
  action: string;
  entity: string;
  payload: Record<string, unknown>;
  created_at: number;
}

/** The channel a notification of `type` for `userId` is published on. */
export function channelFor(type: string, userId: number): string {
  const channelType = (NOTIFICATION_TYPES_WITH_CHANNEL as readonly string[]).includes(type)
    ? type
    : 'notifications';
  return `${channelType}:${userId}`;
}

/** Every channel that carries notifications for `userId`. */
export function channelsOf(userId: number): string[] {
  return NOTIFICATION_TYPES_WITH_CHANNEL.map((type) => `${type}:${userId}`);
}

/** The wire form; the bigint id becomes a number, as SSE event ids and clients expect. */
export function toWire(notification: Notification): WireNotification {
  return {
    id: Number(notification.id),
    type: notification.type,
    action: notification.action,
    entity: notification.entity,
    payload: notification.payload,
    created_at: notification.createdAt,
  };
}
