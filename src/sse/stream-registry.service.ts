import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
} from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { REDIS_STORE, type RedisStore, type Subscription } from '../infra/redis/redis-store';
import { SESSION_REVOKED_CHANNEL, SessionTokenManager } from '../tokens/session-token.service';
import { StreamMetrics, type StreamTransport } from './stream-metrics.service';

/** Why a stream ends from the server side; each but `expired` is announced to the client first. */
export type CloseReason = 'session_revoked' | 'reconnect' | 'expired';

/** An open stream, as the registry knows it. */
export interface StreamHandle {
  id: string;
  userId: number;
  jti: string;
  transport: StreamTransport;
  /** Ends the stream, telling the client why in the transport's way (an event, a close code). */
  close(reason: CloseReason): void;
  /**
   * Holds live notifications back from now, and once `after` settled, sends what was stored after
   * the stream's position, then them. Resolves when done; on failure the stream ends with
   * `reconnect`, so the client resumes from its position.
   */
  catchUp(after?: Promise<unknown>): Promise<unknown>;
}

const connectionKey = (id: string) => `sse_conn:${id}`;
const userStreamsKey = (userId: number) => `sse_user_streams:${userId}`;

/**
 * The streams open on this instance, SSE responses and WebSockets alike, and the bookkeeping shared
 * with the others: a per-user count across instances and transports (each stream holds a key that
 * its heartbeat keeps alive, so a crashed instance's streams stop counting on their own), closing
 * the streams of a session revoked anywhere, and `reconnect` to every stream at shutdown.
 *
 * A revocation reaches it on `session:revoked` (one subscription per instance, within a second).
 * Pub/sub is at-most-once, so every SSE_SESSION_RECHECK_S the registry also looks up the sessions
 * of all its streams in one pipelined round trip and closes those whose session is gone; that
 * bounds how long a lost message can keep a revoked stream open (docs/RELIABILITY.md). When the
 * subscriber connection comes back after an outage, it re-checks at once and then has every stream
 * catch up on the notifications stored meanwhile.
 */
@Injectable()
export class StreamRegistry implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(StreamRegistry.name);
  private readonly streams = new Map<string, StreamHandle>();
  private revocations?: Subscription;
  private stopRestoredListener?: () => void;
  private recheckTimer?: ReturnType<typeof setInterval>;
  private recheckRunning?: Promise<void>;
  private shuttingDown = false;

  constructor(
    @Inject(REDIS_STORE) private readonly store: RedisStore,
    private readonly sessions: SessionTokenManager,
    private readonly config: AppConfig,
    private readonly metrics: StreamMetrics,
  ) {
    metrics.observe({
      count: (transport) => this.countOf(transport),
      maxPerUser: () => this.maxPerUser(),
    });
  }

  async onModuleInit(): Promise<void> {
    this.revocations = await this.store.subscribe(SESSION_REVOKED_CHANNEL, (message) =>
      this.onRevoked(message),
    );
    this.stopRestoredListener = this.store.onSubscriberRestored(() => this.afterOutage());
    this.recheckTimer = setInterval(
      () => void this.recheckSessions(),
      this.config.sse.sessionRecheckS * 1000,
    );
    this.recheckTimer.unref();
  }

  /**
   * Closes, with `session_revoked`, every stream whose session no longer exists: one pipelined
   * lookup for all of this instance's streams. A run still going is joined, not doubled. When Redis
   * cannot answer, the streams stay as they are until the next run.
   */
  recheckSessions(): Promise<void> {
    this.recheckRunning ??= this.recheck().finally(() => {
      this.recheckRunning = undefined;
    });
    return this.recheckRunning;
  }

  private async recheck(): Promise<void> {
    const streams = [...this.streams.values()];
    if (streams.length === 0) return;
    let live: boolean[];
    try {
      live = await this.sessions.sessionsExist(streams);
    } catch (error) {
      this.logger.warn(`stream session re-check failed: ${(error as Error).message}`);
      return;
    }
    streams.forEach((stream, i) => {
      if (live[i]) return;
      this.metrics.closedByRecheck.inc();
      stream.close('session_revoked');
    });
  }

  /** Messages published during the outage were lost: re-check sessions, then catch every stream up. */
  private afterOutage(): void {
    const rechecked = this.recheckSessions();
    for (const stream of [...this.streams.values()]) void stream.catchUp(rechecked);
  }

  get size(): number {
    return this.streams.size;
  }

  /** After shutdown began, new streams are refused: the clients told to reconnect must go elsewhere. */
  get closing(): boolean {
    return this.shuttingDown;
  }

  /**
   * Takes a slot for a new stream of `userId`, or null when the user already has
   * SSE_MAX_PER_USER streams open across all instances. The slot is added first and the live
   * slots counted after, so that of streams opening at the same moment none is admitted past the
   * cap (under contention one may be refused that would have fit; it can retry).
   */
  async acquire(userId: number): Promise<string | null> {
    const id = randomUUID();
    await this.store
      .multi()
      .set(connectionKey(id), String(userId), { ttlMs: this.slotTtlMs() })
      .sadd(userStreamsKey(userId), id)
      .pexpire(userStreamsKey(userId), this.config.sse.maxLifetimeS * 1000 + this.slotTtlMs())
      .exec();
    const members = await this.store.smembers(userStreamsKey(userId));
    const batch = this.store.pipeline();
    for (const member of members) batch.get(connectionKey(member));
    const alive = await batch.exec();
    const stale = members.filter((_, i) => alive[i] === null);
    if (stale.length > 0) await this.store.srem(userStreamsKey(userId), ...stale);
    if (members.length - stale.length > this.config.sse.maxPerUser) {
      this.release(id, userId);
      return null;
    }
    return id;
  }

  /** Keeps a slot counted; called on every heartbeat. */
  refresh(id: string): void {
    this.store
      .pexpire(connectionKey(id), this.slotTtlMs())
      .catch((error: Error) => this.logger.warn(`stream slot refresh failed: ${error.message}`));
  }

  add(handle: StreamHandle): void {
    this.streams.set(handle.id, handle);
    if (this.shuttingDown) handle.close('reconnect');
  }

  /** Forgets a stream and frees its slot; idempotent. */
  remove(handle: Pick<StreamHandle, 'id' | 'userId'>): void {
    this.streams.delete(handle.id);
    this.release(handle.id, handle.userId);
  }

  private release(id: string, userId: number): void {
    this.store
      .multi()
      .del(connectionKey(id))
      .srem(userStreamsKey(userId), id)
      .exec()
      .catch((error: Error) => this.logger.warn(`stream slot release failed: ${error.message}`));
  }

  /** Every stream gets `reconnect` and closes before the HTTP server stops. */
  async beforeApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.recheckTimer);
    this.stopRestoredListener?.();
    for (const stream of [...this.streams.values()]) stream.close('reconnect');
    await this.revocations?.unsubscribe();
  }

  private onRevoked(message: string): void {
    let revoked: { user_id?: unknown; jti?: unknown };
    try {
      revoked = JSON.parse(message) as typeof revoked;
    } catch {
      return;
    }
    for (const stream of [...this.streams.values()]) {
      if (stream.jti === revoked.jti && stream.userId === Number(revoked.user_id)) {
        stream.close('session_revoked');
      }
    }
  }

  private countOf(transport: StreamTransport): number {
    let count = 0;
    for (const stream of this.streams.values()) if (stream.transport === transport) count++;
    return count;
  }

  private maxPerUser(): number {
    const counts = new Map<number, number>();
    for (const { userId } of this.streams.values()) {
      counts.set(userId, (counts.get(userId) ?? 0) + 1);
    }
    return Math.max(0, ...counts.values());
  }

  /** Two heartbeats and some slack: a stream whose instance died stops counting soon after. */
  private slotTtlMs(): number {
    return (this.config.sse.heartbeatS * 2 + 5) * 1000;
  }
}
