import type { Notification } from '../infra/database/tables/notification.entity';

/**
 * The notification types with a Redis channel of their own (README, "Real-time notifications"); a
 * stream listens on all three for its user. Any other type goes out on `notifications:{user_id}`.
 */
export const NOTIFICATION_TYPES_WITH_CHANNEL = ['notifications', 'follower', 'shout'] as const;

/** A notification as SSE clients receive it: the seed format, plus the row's id and time. */
export interface WireNotification {
  id: number;
  type: string;
  action: string;
  entity: string;
  payload: Record<string, unknown>;
  created_at: number;
}

/** Every field of the wire form; the compiler refuses this list if it and the interface differ. */
const WIRE_FIELDS = Object.keys({
  id: true,
  type: true,
  action: true,
  entity: true,
  payload: true,
  created_at: true,
} satisfies Record<keyof WireNotification, true>)
  .sort()
  .join();

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

/**
 * The id of a stored notification, when a published message is one: exactly the wire form of
 * `toWire`. Anything else that other processes publish is delivered as it is, but its `id`, if any,
 * is theirs, and must not move a stream's position (it would hide real notifications).
 */
export function storedNotificationId(message: unknown): number | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const { id, type, action, entity, payload, created_at } = message as Record<string, unknown>;
  const wireShaped =
    Object.keys(message).sort().join() === WIRE_FIELDS &&
    typeof type === 'string' &&
    typeof action === 'string' &&
    typeof entity === 'string' &&
    typeof payload === 'object' &&
    payload !== null &&
    typeof created_at === 'number';
  return wireShaped && typeof id === 'number' && Number.isSafeInteger(id) && id > 0
    ? id
    : undefined;
}
