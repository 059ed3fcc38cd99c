import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { WebSocket } from 'ws';
import { AppConfig } from '../config/app-config';
import { dependencyFailureOf } from '../infra/availability/dependency-unavailable.error';
import type { WireNotification } from '../notifications/notification-channels';
import { NotificationFeed } from '../notifications/notification-feed.service';
import { NotificationType } from '../notifications/notifications.types';
import { type FeedFollower, FeedFollowers } from './feed-follower.service';
import {
  type SocketCredentials,
  type StreamIdentity,
  StreamAuthService,
} from './stream-auth.service';
import { StreamMetrics } from './stream-metrics.service';
import { type CloseReason, type StreamHandle, StreamRegistry } from './stream-registry.service';

/** The close codes a client acts on (README, "Real time over WebSocket"). */
export const SocketCloseCode = {
  /** Come back (lifetime cap, shutdown): resume with `after`. */
  reconnect: 4000,
  /** Invalid, revoked or expired session: sign in again. */
  unauthorized: 4401,
  /** A foreign Origin. */
  forbidden: 4403,
  /** Over SSE_MAX_PER_USER streams and sockets together. */
  tooMany: 4429,
  /** Redis or Postgres could not be asked: try again shortly (RFC 6455's "Try Again Later"). */
  unavailable: 1013,
  /** Something unexpected on the server. */
  internalError: 1011,
} as const;

const NOTIFICATION_ID = /^\d{1,15}$/;
const MAX_TIMER_MS = 2_147_483_647;

/** One authenticated WebSocket: whose it is, and the subscription it carries, if any. */
export interface SocketConnection {
  readonly identity: StreamIdentity;
  /**
   * The user's newest stored notification when the connection was acknowledged: where a
   * subscription without `after` starts, so that nothing stored after the ack is missed.
   */
  readonly start: number;
  follower?: FeedFollower;
}

const CLOSE_OF: Record<CloseReason, [code: number, reason: string]> = {
  reconnect: [SocketCloseCode.reconnect, 'reconnect'],
  session_revoked: [SocketCloseCode.unauthorized, 'session_revoked'],
  expired: [SocketCloseCode.unauthorized, 'session_expired'],
};

/**
 * The SSE stream's lifecycle for GraphQL WebSockets: a connection is authenticated from its first
 * message, takes a slot under the per-user cap shared with SSE, and is registered with the
 * StreamRegistry, so that revocation anywhere, the periodic session re-check, the lifetime cap,
 * token expiry and shutdown close it as they end a stream, with a close code instead of an event.
 * Its `notifications` subscription follows the feed like a stream does (no gap, no duplicate,
 * caught up again after a subscriber outage).
 */
@Injectable()
export class NotificationSockets {
  private readonly logger = new Logger(NotificationSockets.name);

  constructor(
    private readonly auth: StreamAuthService,
    private readonly registry: StreamRegistry,
    private readonly followers: FeedFollowers,
    private readonly feed: NotificationFeed,
    private readonly metrics: StreamMetrics,
    private readonly config: AppConfig,
  ) {}

  /**
   * Authenticates `connection_init` and registers the socket; null when it was refused (the socket
   * then being closed with the code that says why) or the client left meanwhile.
   */
  async connect(
    socket: WebSocket,
    req: Request,
    credentials: SocketCredentials | undefined,
  ): Promise<SocketConnection | null> {
    try {
      const identity = await this.auth.authenticateSocket(req, credentials);
      if (!identity) return refuse(socket, SocketCloseCode.unauthorized, 'Unauthorized');
      if (this.registry.closing) return refuse(socket, SocketCloseCode.reconnect, 'reconnect');
      const slotId = await this.registry.acquire(identity.userId);
      if (slotId === null) {
        return refuse(socket, SocketCloseCode.tooMany, 'Too many open streams for this user');
      }
      let start: number;
      try {
        start = await this.feed.latestId(identity.userId);
      } catch (error) {
        this.registry.remove({ id: slotId, userId: identity.userId });
        throw error;
      }
      return this.register(socket, { identity, start }, slotId);
    } catch (error) {
      if (dependencyFailureOf(error)) {
        return refuse(
          socket,
          SocketCloseCode.unavailable,
          'Service unavailable; try again shortly',
        );
      }
      this.logger.error(`socket authentication failed: ${(error as Error).message}`);
      return refuse(socket, SocketCloseCode.internalError, 'Internal server error');
    }
  }

  private register(
    socket: WebSocket,
    connection: SocketConnection,
    slotId: string,
  ): SocketConnection | null {
    const { identity } = connection;
    const { userId, jti } = identity;
    const { heartbeatS, maxLifetimeS } = this.config.sse;
    const slot = { id: slotId, userId };
    const handle: StreamHandle = {
      id: slotId,
      userId,
      jti,
      transport: 'websocket',
      close: (reason) => socket.close(...CLOSE_OF[reason]),
      catchUp: async (after) => {
        try {
          await connection.follower?.catchUp(after);
        } catch (error) {
          // The client resumes with `after` from the last id it got: nothing is lost.
          this.logger.warn(
            `socket catch-up failed, told to reconnect: ${(error as Error).message}`,
          );
          handle.close('reconnect');
        }
      },
    };
    const timers = [
      setInterval(() => this.registry.refresh(slotId), heartbeatS * 1000),
      setTimeout(() => handle.close('reconnect'), maxLifetimeS * 1000),
      setTimeout(
        () => handle.close('expired'),
        Math.min(MAX_TIMER_MS, Math.max(0, identity.expiresAt * 1000 - Date.now())),
      ),
    ];
    const teardown = () => {
      for (const timer of timers) clearTimeout(timer);
      connection.follower?.stop();
      this.registry.remove(slot);
    };
    // The client may have left while it was being authenticated.
    if (socket.readyState !== socket.OPEN) {
      teardown();
      return null;
    }
    socket.once('close', teardown);
    this.registry.add(handle);
    return connection;
  }

  /**
   * The `notifications` subscription of a connection: from `after` when given (what was stored
   * after it is replayed first), else from the newest stored notification when the connection was
   * acknowledged. One per connection.
   */
  async follow(
    connection: SocketConnection | undefined,
    after: string | null | undefined,
  ): Promise<AsyncIterableIterator<NotificationType>> {
    if (!connection) {
      throw new BadRequestException('Subscriptions are served over WebSocket at /graphql');
    }
    if (after != null && !NOTIFICATION_ID.test(after)) {
      throw new BadRequestException('after must be a notification id');
    }
    if (connection.follower) {
      throw new BadRequestException('This connection already has a notifications subscription');
    }
    const { userId } = connection.identity;
    const position = after != null ? Number(after) : connection.start;
    const queue = new NotificationQueue();
    const follower = this.followers.follow(userId, position, (raw, id) => {
      // A subscription carries Notification objects: what other processes publish without being
      // a stored notification has no such shape, and only reaches SSE clients.
      if (id === undefined) return;
      queue.push(NotificationType.fromWire(JSON.parse(raw) as WireNotification));
      this.metrics.delivered.inc();
    });
    connection.follower = follower;
    queue.onReturn(() => {
      follower.stop();
      if (connection.follower === follower) connection.follower = undefined;
    });
    try {
      await follower.started;
    } catch (error) {
      void queue.return();
      throw error;
    }
    if (after != null) this.metrics.replays.inc();
    return queue;
  }
}

function refuse(socket: WebSocket, code: number, reason: string): null {
  socket.close(code, reason);
  return null;
}

/** An async iterator over notifications pushed as they come; ending it runs `onReturn` once. */
class NotificationQueue implements AsyncIterableIterator<NotificationType> {
  private readonly pending: NotificationType[] = [];
  private wake?: () => void;
  private ended = false;
  private ending?: () => void;

  [Symbol.asyncIterator](): AsyncIterableIterator<NotificationType> {
    return this;
  }

  push(notification: NotificationType): void {
    if (this.ended) return;
    this.pending.push(notification);
    this.wake?.();
  }

  onReturn(callback: () => void): void {
    this.ending = callback;
  }

  async next(): Promise<IteratorResult<NotificationType>> {
    while (!this.ended && this.pending.length === 0) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.wake = undefined;
    const value = this.pending.shift();
    return this.ended || value === undefined
      ? { done: true, value: undefined }
      : { done: false, value };
  }

  return(): Promise<IteratorResult<NotificationType>> {
    if (!this.ended) {
      this.ended = true;
      this.pending.length = 0;
      this.wake?.();
      this.ending?.();
    }
    return Promise.resolve({ done: true, value: undefined });
  }
}
