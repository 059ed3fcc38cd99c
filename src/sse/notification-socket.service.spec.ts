import { jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { Request } from 'express';
import type { WebSocket } from 'ws';
import type { AppConfig } from '../config/app-config';
import { DependencyUnavailableError } from '../infra/availability/dependency-unavailable.error';
import type { NotificationFeed } from '../notifications/notification-feed.service';
import type { FeedFollowers } from './feed-follower.service';
import { NotificationSockets } from './notification-socket.service';
import type { StreamAuthService, StreamIdentity } from './stream-auth.service';
import type { StreamMetrics } from './stream-metrics.service';
import type { StreamHandle, StreamRegistry } from './stream-registry.service';

const HEARTBEAT_S = 15;
const LIFETIME_S = 1800;

/** A WebSocket as far as the lifecycle uses it: its state, close() and the 'close' event. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  closedWith?: [number, string];

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = [code, reason];
    this.readyState = 3;
    this.emit('close', code, reason);
  }
}

/** The registry's bookkeeping, recorded. */
class FakeRegistry {
  closing = false;
  slots: (string | null)[] = ['slot-1'];
  readonly added: StreamHandle[] = [];
  readonly removed: string[] = [];
  readonly refreshed: string[] = [];

  async acquire(): Promise<string | null> {
    return this.slots.shift() ?? null;
  }
  add(handle: StreamHandle): void {
    this.added.push(handle);
  }
  remove(handle: { id: string }): void {
    this.removed.push(handle.id);
  }
  refresh(id: string): void {
    this.refreshed.push(id);
  }
}

describe('NotificationSockets (the lifecycle of a socket)', () => {
  let registry: FakeRegistry;
  let authenticate: jest.Mock<() => Promise<StreamIdentity | null>>;
  let sockets: NotificationSockets;
  const identity = (expiresInS: number): StreamIdentity => ({
    userId: 7,
    jti: 'jti-1',
    expiresAt: Math.floor(Date.now() / 1000) + expiresInS,
  });
  const connect = async (socket: FakeSocket) =>
    sockets.connect(socket as unknown as WebSocket, {} as Request, { token: 't' });

  beforeEach(() => {
    jest.useFakeTimers();
    registry = new FakeRegistry();
    authenticate = jest.fn();
    sockets = new NotificationSockets(
      { authenticateSocket: authenticate } as unknown as StreamAuthService,
      registry as unknown as StreamRegistry,
      {} as FeedFollowers,
      { latestId: async () => 41 } as unknown as NotificationFeed,
      {} as StreamMetrics,
      { sse: { heartbeatS: HEARTBEAT_S, maxLifetimeS: LIFETIME_S } } as AppConfig,
    );
  });
  afterEach(() => jest.useRealTimers());

  it('registers an authenticated socket, keeps its slot alive, and frees it when the socket closes', async () => {
    authenticate.mockResolvedValue(identity(3600));
    const socket = new FakeSocket();
    expect(await connect(socket)).toMatchObject({
      identity: { userId: 7, jti: 'jti-1' },
      start: 41,
    });
    expect(registry.added.map((h) => [h.id, h.transport])).toEqual([['slot-1', 'websocket']]);

    jest.advanceTimersByTime(HEARTBEAT_S * 1000 * 2);
    expect(registry.refreshed).toEqual(['slot-1', 'slot-1']);

    socket.close(1000, 'bye');
    expect(registry.removed).toEqual(['slot-1']);
    jest.advanceTimersByTime(LIFETIME_S * 1000);
    expect(registry.refreshed).toHaveLength(2);
  });

  it('closes with 4401 session_expired when the session expires, before the lifetime cap', async () => {
    authenticate.mockResolvedValue(identity(60));
    const socket = new FakeSocket();
    await connect(socket);
    jest.advanceTimersByTime(59_000);
    expect(socket.closedWith).toBeUndefined();
    jest.advanceTimersByTime(1_000);
    expect(socket.closedWith).toEqual([4401, 'session_expired']);
    expect(registry.removed).toEqual(['slot-1']);
  });

  it('closes with 4000 reconnect at the lifetime cap', async () => {
    authenticate.mockResolvedValue(identity(LIFETIME_S * 2));
    const socket = new FakeSocket();
    await connect(socket);
    jest.advanceTimersByTime(LIFETIME_S * 1000);
    expect(socket.closedWith).toEqual([4000, 'reconnect']);
  });

  it.each([
    ['session_revoked', [4401, 'session_revoked']],
    ['reconnect', [4000, 'reconnect']],
    ['expired', [4401, 'session_expired']],
  ] as const)('maps the registry’s close(%s) to close code %j', async (reason, expected) => {
    authenticate.mockResolvedValue(identity(3600));
    const socket = new FakeSocket();
    await connect(socket);
    registry.added[0].close(reason);
    expect(socket.closedWith).toEqual(expected);
  });

  it('refuses without a slot: 4401 unauthenticated, 4429 over the cap, 4000 while shutting down', async () => {
    authenticate.mockResolvedValueOnce(null);
    const refused = new FakeSocket();
    expect(await connect(refused)).toBeNull();
    expect(refused.closedWith).toEqual([4401, 'Unauthorized']);

    authenticate.mockResolvedValue(identity(3600));
    registry.slots = [null];
    const overCap = new FakeSocket();
    expect(await connect(overCap)).toBeNull();
    expect(overCap.closedWith).toEqual([4429, 'Too many open streams for this user']);

    registry.closing = true;
    const late = new FakeSocket();
    expect(await connect(late)).toBeNull();
    expect(late.closedWith).toEqual([4000, 'reconnect']);
    expect(registry.added).toEqual([]);
  });

  it('closes with 1013 when Redis cannot be asked, and 1011 on anything unexpected', async () => {
    authenticate.mockRejectedValueOnce(new DependencyUnavailableError('redis'));
    const unavailable = new FakeSocket();
    expect(await connect(unavailable)).toBeNull();
    expect(unavailable.closedWith).toEqual([1013, 'Service unavailable; try again shortly']);

    authenticate.mockRejectedValueOnce(new Error('boom'));
    const broken = new FakeSocket();
    expect(await connect(broken)).toBeNull();
    expect(broken.closedWith).toEqual([1011, 'Internal server error']);
  });

  it('frees the slot of a client that left while it was being authenticated', async () => {
    authenticate.mockResolvedValue(identity(3600));
    const socket = new FakeSocket();
    socket.readyState = 3;
    expect(await connect(socket)).toBeNull();
    expect(registry.added).toEqual([]);
    expect(registry.removed).toEqual(['slot-1']);
  });
});
