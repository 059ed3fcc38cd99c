/**
 * The key-value and pub/sub store every feature module talks to. Two drivers implement it:
 * `IoRedisStore` (REDIS_URL set; shared by every instance) and `MemoryStore` (embedded default,
 * one process only). Keys and channels are given without REDIS_KEY_PREFIX; the driver adds it.
 * Errors are Redis's own in both drivers (`WRONGTYPE …`, `ERR value is not an integer …`). Variadic
 * commands given nothing (`del()`, `sadd(key)`, `hset(key, {})`, …) return 0 or nothing without a
 * round trip, where Redis would answer a syntax error.
 */
export const REDIS_STORE = Symbol('REDIS_STORE');

export interface SetOptions {
  /** Time to live in milliseconds: a positive integer, or the command fails. */
  ttlMs?: number;
  /** Only set when the key does not exist yet (SET NX). */
  onlyIfAbsent?: boolean;
}

/** Commands that can be queued in a batch. Each queued command adds one entry to `exec()`'s result. */
export interface StoreBatch {
  get(key: string): this;
  set(key: string, value: string, options?: SetOptions): this;
  del(...keys: string[]): this;
  pexpire(key: string, ttlMs: number): this;
  hset(key: string, fields: Record<string, string>): this;
  hget(key: string, field: string): this;
  hgetall(key: string): this;
  sadd(key: string, ...members: string[]): this;
  srem(key: string, ...members: string[]): this;
  incr(key: string): this;
  publish(channel: string, message: string): this;
  /**
   * Runs the queued commands. Results are in queue order, with the same values the single
   * commands return (`hgetall` of a missing key: null). A command that fails (wrong type) yields its Error.
   * Rejects when the store is closed.
   */
  exec(): Promise<unknown[]>;
}

export interface StoreMemoryUsage {
  usedBytes: number;
  peakBytes: number;
  maxBytes: number;
}

export type MessageListener = (message: string, channel: string) => void;

export interface Subscription {
  /** Removes this listener; the channel is unsubscribed when its last listener goes. Idempotent. */
  unsubscribe(): Promise<void>;
}

export interface RedisStore {
  /** `redis` or `memory`, for logs and health details. */
  readonly driver: 'redis' | 'memory';

  get(key: string): Promise<string | null>;
  /** Returns false when `onlyIfAbsent` was given and the key existed. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Atomic read-and-delete: of two concurrent callers, only one gets the value. */
  getdel(key: string): Promise<string | null>;
  /** Returns how many of the keys existed. */
  del(...keys: string[]): Promise<number>;
  exists(key: string): Promise<boolean>;
  /** Returns false when the key does not exist. */
  pexpire(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining time to live in ms; -1 for a key without expiry, -2 for a missing key. */
  pttl(key: string): Promise<number>;
  incr(key: string): Promise<number>;

  hset(key: string, fields: Record<string, string>): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  /** Null when the key does not exist. */
  hgetall(key: string): Promise<Record<string, string> | null>;
  hdel(key: string, ...fields: string[]): Promise<number>;

  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  scard(key: string): Promise<number>;

  /**
   * Iterates keys matching a glob pattern in batches of about `count`, SCAN-style (never KEYS).
   * Yielded keys are without the prefix. Batches may be smaller than `count` (empty ones are
   * skipped); a key present for the whole scan is yielded at least once (Redis may repeat one), a key
   * created or deleted meanwhile may or may not be.
   */
  scan(pattern: string, count?: number): AsyncIterable<string[]>;

  /**
   * Commands applied together, with no other client's command in between (MULTI/EXEC). As in Redis,
   * a command failing at run time (wrong type) yields its Error without undoing the others.
   */
  multi(): StoreBatch;
  /** Commands sent in one round trip, not atomic (pipeline). */
  pipeline(): StoreBatch;

  /**
   * Returns how many subscribers received the message (on Redis: across all instances). It counts
   * subscriber connections, one per store instance, not listeners. Delivery is always asynchronous.
   */
  publish(channel: string, message: string): Promise<number>;
  /**
   * Adds a listener on a channel, through the one subscriber connection of this process. Channels
   * are reference-counted: the connection subscribes on the first listener and unsubscribes after the last.
   */
  subscribe(channel: string, listener: MessageListener): Promise<Subscription>;
  /**
   * Channels this process is subscribed to right now (for leak checks and metrics). On Redis this
   * includes a channel whose UNSUBSCRIBE failed while the server was down, until reconnection.
   */
  subscribedChannels(): string[];
  /**
   * Calls `listener` each time the subscriber connection comes back after an outage, once it is
   * subscribed again to every channel that has listeners. Messages published during the outage
   * were not delivered (pub/sub is at-most-once); whoever needs them reads them from where they
   * are stored. The in-process driver never loses its subscriptions. Returns a remover.
   */
  onSubscriberRestored(listener: () => void): () => void;

  /** Round trip to the server; rejects when it is down. */
  ping(): Promise<void>;
  /**
   * Memory figures in bytes: the server's `INFO memory` on Redis (maxBytes 0 = no limit); the
   * process heap for the in-process driver, whose data lives there.
   */
  memoryUsage(): Promise<StoreMemoryUsage>;
  /**
   * Closes connections and timers and drops listeners. Idempotent; afterwards commands reject with
   * 'store is closed' and `Subscription.unsubscribe()` resolves.
   */
  close(): Promise<void>;
}
