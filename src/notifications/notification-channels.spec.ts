import {
  channelFor,
  channelsOf,
  NOTIFICATION_TYPES_WITH_CHANNEL,
  storedNotificationId,
  toWire,
} from './notification-channels';
import { Notification } from '../infra/database/tables/notification.entity';

function notification(overrides: Partial<Notification> = {}): Notification {
  return Object.assign(new Notification(), {
    id: '1187',
    recipientId: 42,
    type: 'follower',
    action: 'create',
    entity: 'follower',
    payload: { follower_id: 7, follower_name: 'Ann', following_id: 42 },
    createdAt: 1764200000,
    seenAt: null,
    ...overrides,
  });
}

describe('notification channels and wire form', () => {
  it('names the three channel types an SSE stream listens on', () => {
    expect([...NOTIFICATION_TYPES_WITH_CHANNEL]).toEqual(['notifications', 'follower', 'shout']);
  });

  it('publishes follower and shout notifications on a channel of their own', () => {
    expect(channelFor('follower', 42)).toBe('follower:42');
    expect(channelFor('shout', 42)).toBe('shout:42');
    expect(channelFor('notifications', 42)).toBe('notifications:42');
  });

  it('publishes any other type on notifications:{user_id}', () => {
    expect(channelFor('mention', 42)).toBe('notifications:42');
    expect(channelFor('', 7)).toBe('notifications:7');
    // A type merely starting like a channel type does not get a channel of its own.
    expect(channelFor('shouts', 7)).toBe('notifications:7');
    expect(channelFor('follower:9', 7)).toBe('notifications:7');
  });

  it('lists every channel of a user, each of which channelFor can produce', () => {
    const channels = channelsOf(42);
    expect(channels).toEqual(['notifications:42', 'follower:42', 'shout:42']);
    for (const type of ['follower', 'shout', 'mention']) {
      expect(channels).toContain(channelFor(type, 42));
    }
    expect(channelsOf(43)).not.toContain(channelFor('follower', 42));
  });

  it('puts a stored notification on the wire in the seed format, with its numeric id and time', () => {
    const wire = toWire(notification());
    expect(wire).toEqual({
      id: 1187,
      type: 'follower',
      action: 'create',
      entity: 'follower',
      payload: { follower_id: 7, follower_name: 'Ann', following_id: 42 },
      created_at: 1764200000,
    });
    // Clients parse exactly this JSON: the recipient and the seen state stay on the server.
    expect(JSON.parse(JSON.stringify(wire))).toEqual(wire);
    expect(Object.keys(JSON.parse(JSON.stringify(wire))).sort()).toEqual(
      ['action', 'created_at', 'entity', 'id', 'payload', 'type'].sort(),
    );
  });

  it('recognises exactly the wire form of a stored notification, and nothing else, by its id', () => {
    const wire = JSON.parse(JSON.stringify(toWire(notification()))) as Record<string, unknown>;
    expect(storedNotificationId(wire)).toBe(1187);
    // What other processes publish keeps its own `id`, which must not count as a position.
    const foreign: unknown[] = [
      { ...wire, extra: true },
      { id: 1187, type: 'follower' },
      { ...wire, id: '1187' },
      { ...wire, id: 0 },
      { ...wire, id: 1.5 },
      { ...wire, id: Number.MAX_SAFE_INTEGER + 2 },
      { ...wire, payload: null },
      { ...wire, created_at: '1764200000' },
      [wire],
      null,
      1187,
    ];
    for (const message of foreign) expect(storedNotificationId(message)).toBeUndefined();
  });
});
