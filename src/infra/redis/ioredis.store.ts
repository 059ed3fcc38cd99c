import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import type {
  MessageListener,
  RedisStore,
  SetOptions,
  StoreBatch,
  StoreMemoryUsage,
  Subscription,
} from './redis-store';

export interface IoRedisStoreOptions {
  url: string;
  /** Prepended to every key and channel; empty for none. */
  keyPrefix: string;
  /** Receives connection errors (while Redis is unreachable) and listeners' exceptions. */
  onError?: (err: Error) => void;
}

const DEFAULT_SCAN_COUNT = 100;

/**
 * While Redis is down, a command fails after about three reconnection attempts (~1–2 s) rather
 * than waiting forever; the connections keep retrying, and ioredis resubscribes once back.
 */
const CONNECTION_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 2,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  connectTimeout: 5_000,
};

function setArguments(options: SetOptions = {}): (string | number)[] {
  const args: (string | number)[] = [];
  if (options.ttlMs !== undefined) args.push('PX', options.ttlMs);
  if (options.onlyIfAbsent) args.push('NX');
  return args;
}

const isOk = (reply: unknown): boolean => reply === 'OK';
const isOne = (reply: unknown): boolean => reply === 1;
const nothing = (): void => undefined;

function hashOrNull(hash: Record<string, string>): Record<string, string> | null {
  return Object.keys(hash).length > 0 ? hash : null;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

interface Settle {
  resolve: () => void;
  reject: (err: Error) => void;
}

type QueuedCommand =
  | { send: (chain: ChainableCommander) => void; map: (reply: unknown) => unknown }
  | { constant: unknown };

class IoRedisBatch implements StoreBatch {
  private readonly commands: QueuedCommand[] = [];

  constructor(
    private readonly start: () => ChainableCommander,
    private readonly prefix: string,
  ) {}

  get(key: string): this {
    return this.queue((chain) => chain.get(this.prefix + key));
  }

  set(key: string, value: string, options?: SetOptions): this {
    return this.queue(
      (chain) => chain.call('SET', [this.prefix + key, value, ...setArguments(options)]),
      isOk,
    );
  }

  del(...keys: string[]): this {
    if (keys.length === 0) return this.constant(0);
    return this.queue((chain) => chain.del(...keys.map((key) => this.prefix + key)));
  }

  pexpire(key: string, ttlMs: number): this {
    return this.queue((chain) => chain.pexpire(this.prefix + key, ttlMs), isOne);
  }

  hset(key: string, fields: Record<string, string>): this {
    if (Object.keys(fields).length === 0) return this.constant(undefined);
    return this.queue((chain) => chain.hset(this.prefix + key, fields), nothing);
  }

  hgetall(key: string): this {
    return this.queue(
      (chain) => chain.hgetall(this.prefix + key),
      (reply) => hashOrNull(reply as Record<string, string>),
    );
  }

  sadd(key: string, ...members: string[]): this {
    if (members.length === 0) return this.constant(0);
    return this.queue((chain) => chain.sadd(this.prefix + key, ...members));
  }

  srem(key: string, ...members: string[]): this {
    if (members.length === 0) return this.constant(0);
    return this.queue((chain) => chain.srem(this.prefix + key, ...members));
  }

  incr(key: string): this {
    return this.queue((chain) => chain.incr(this.prefix + key));
  }

  publish(channel: string, message: string): this {
    return this.queue((chain) => chain.publish(this.prefix + channel, message));
  }

  async exec(): Promise<unknown[]> {
    const chain = this.start();
    let sent = 0;
    for (const command of this.commands) {
      if ('send' in command) {
        command.send(chain);
        sent++;
      }
    }
    const replies = sent > 0 ? await chain.exec() : [];
    if (!replies) throw new Error('transaction aborted');
    let next = 0;
    return this.commands.map((command) => {
      if (!('send' in command)) return command.constant;
      const [err, reply] = replies[next++];
      return err ?? command.map(reply);
    });
  }

  private queue(
    send: (chain: ChainableCommander) => void,
    map: (reply: unknown) => unknown = (reply) => reply,
  ): this {
    this.commands.push({ send, map });
    return this;
  }

  private constant(value: unknown): this {
    this.commands.push({ constant: value });
    return this;
  }
}

/**
 * Redis driver: one command connection and one subscriber connection per instance. The prefix is
 * applied here rather than with ioredis's `keyPrefix`, which skips channels and SCAN patterns.
 */
export class IoRedisStore implements RedisStore {
  readonly driver = 'redis';

  private readonly url: string;
  private readonly prefix: string;
  private readonly onError: (err: Error) => void;
  private readonly connection: Redis;
  private subscriber: Redis | undefined;
  private closed = false;
  /** Listeners by unprefixed channel: what this process wants to receive. */
  private readonly listeners = new Map<string, Set<MessageListener>>();
  /** Unprefixed channels the subscriber connection holds, as confirmed by Redis. */
  private readonly subscribed = new Set<string>();
  /** Per-channel chain of SUBSCRIBE/UNSUBSCRIBE work, so that they never race each other. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Prefixed channels waiting to go out in the next SUBSCRIBE or UNSUBSCRIBE, with their callers. */
  private readonly batches = {
    subscribe: new Map<string, Settle[]>(),
    unsubscribe: new Map<string, Settle[]>(),
  };

  constructor(options: IoRedisStoreOptions) {
    this.url = options.url;
    this.prefix = options.keyPrefix;
    this.onError = options.onError ?? (() => undefined);
    this.connection = this.connect({ enableAutoPipelining: true });
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    return isOk(
      await this.client.call('SET', [this.prefix + key, value, ...setArguments(options)]),
    );
  }

  async getdel(key: string): Promise<string | null> {
    return this.client.getdel(this.prefix + key);
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.client.del(...keys.map((key) => this.prefix + key));
  }

  async exists(key: string): Promise<boolean> {
    return (await this.client.exists(this.prefix + key)) > 0;
  }

  async pexpire(key: string, ttlMs: number): Promise<boolean> {
    return isOne(await this.client.pexpire(this.prefix + key, ttlMs));
  }

  async pttl(key: string): Promise<number> {
    return this.client.pttl(this.prefix + key);
  }

  async incr(key: string): Promise<number> {
    return this.client.incr(this.prefix + key);
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    await this.client.hset(this.prefix + key, fields);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.client.hget(this.prefix + key, field);
  }

  async hgetall(key: string): Promise<Record<string, string> | null> {
    return hashOrNull(await this.client.hgetall(this.prefix + key));
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    if (fields.length === 0) return 0;
    return this.client.hdel(this.prefix + key, ...fields);
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.client.sadd(this.prefix + key, ...members);
  }

  async srem(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.client.srem(this.prefix + key, ...members);
  }

  async smembers(key: string): Promise<string[]> {
    return this.client.smembers(this.prefix + key);
  }

  async scard(key: string): Promise<number> {
    return this.client.scard(this.prefix + key);
  }

  async *scan(pattern: string, count = DEFAULT_SCAN_COUNT): AsyncIterable<string[]> {
    const match = escapeGlob(this.prefix) + pattern;
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys.map((key) => key.slice(this.prefix.length));
    } while (cursor !== '0');
  }

  multi(): StoreBatch {
    return new IoRedisBatch(() => this.client.multi(), this.prefix);
  }

  pipeline(): StoreBatch {
    return new IoRedisBatch(() => this.client.pipeline(), this.prefix);
  }

  async publish(channel: string, message: string): Promise<number> {
    return this.client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Subscription> {
    this.assertOpen();
    // A wrapper per call, so that the same function subscribed twice counts twice.
    const entry: MessageListener = (message, from) => listener(message, from);
    let channelListeners = this.listeners.get(channel);
    if (!channelListeners) {
      channelListeners = new Set();
      this.listeners.set(channel, channelListeners);
    }
    channelListeners.add(entry);
    try {
      await this.reconcile(channel);
    } catch (err) {
      this.removeListener(channel, entry);
      throw err;
    }
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        this.removeListener(channel, entry);
        // The listener is gone either way; a failed UNSUBSCRIBE is retried on reconnection.
        await this.reconcile(channel).catch((err: unknown) => this.onError(toError(err)));
      },
    };
  }

  subscribedChannels(): string[] {
    return [...new Set([...this.listeners.keys(), ...this.subscribed])];
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async memoryUsage(): Promise<StoreMemoryUsage> {
    const info = await this.client.info('memory');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    return {
      usedBytes: field('used_memory'),
      peakBytes: field('used_memory_peak'),
      maxBytes: field('maxmemory'),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.subscribed.clear();
    const connections = this.subscriber ? [this.connection, this.subscriber] : [this.connection];
    await Promise.all(
      connections.map(async (connection) => {
        if (connection.status !== 'ready') {
          connection.disconnect();
          return;
        }
        await connection.quit().catch(() => connection.disconnect());
      }),
    );
  }

  private get client(): Redis {
    this.assertOpen();
    return this.connection;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /**
   * The command connection pipelines automatically: commands issued in the same turn of the event
   * loop (by concurrent requests) leave in one write, which is where a loaded instance spent most
   * of its system time (docs/PERFORMANCE.md, "What was made faster").
   */
  private connect(options: RedisOptions = {}): Redis {
    const connection = new Redis(this.url, { ...CONNECTION_OPTIONS, ...options });
    connection.on('error', (err: unknown) => this.onError(toError(err)));
    return connection;
  }

  private subscriberConnection(): Redis {
    if (!this.subscriber) {
      const subscriber = this.connect();
      subscriber.on('message', (channel: string, message: string) =>
        this.dispatch(channel, message),
      );
      // ioredis resubscribes on reconnection; drop what was left over by a failed UNSUBSCRIBE.
      subscriber.on('ready', () => {
        for (const channel of this.subscribed) {
          if (!this.listeners.has(channel)) {
            this.reconcile(channel).catch((err: unknown) => this.onError(toError(err)));
          }
        }
      });
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  private dispatch(prefixedChannel: string, message: string): void {
    if (!prefixedChannel.startsWith(this.prefix)) return;
    const channel = prefixedChannel.slice(this.prefix.length);
    for (const listener of [...(this.listeners.get(channel) ?? [])]) {
      try {
        listener(message, channel);
      } catch (err) {
        this.onError(toError(err));
      }
    }
  }

  private removeListener(channel: string, entry: MessageListener): void {
    const channelListeners = this.listeners.get(channel);
    channelListeners?.delete(entry);
    if (channelListeners?.size === 0) this.listeners.delete(channel);
  }

  /** Brings the connection's subscription to a channel in line with its listeners, in order. */
  private reconcile(channel: string): Promise<void> {
    const previous = this.pending.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.applySubscription(channel));
    this.pending.set(channel, next);
    const forget = () => {
      if (this.pending.get(channel) === next) this.pending.delete(channel);
    };
    next.then(forget, forget);
    return next;
  }

  private async applySubscription(channel: string): Promise<void> {
    const wanted = this.listeners.has(channel);
    if (this.closed || wanted === this.subscribed.has(channel)) return;
    if (wanted) {
      await this.batched('subscribe', this.prefix + channel);
      if (!this.closed) this.subscribed.add(channel);
    } else {
      await this.batched('unsubscribe', this.prefix + channel);
      this.subscribed.delete(channel);
    }
  }

  /**
   * Channels asked for in the same turn of the event loop go out as one SUBSCRIBE (or UNSUBSCRIBE)
   * with all of them: a storm of streams opening, three channels each, costs a few writes rather
   * than one per channel.
   */
  private batched(command: 'subscribe' | 'unsubscribe', prefixedChannel: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const batch = this.batches[command];
      if (batch.size === 0) setImmediate(() => this.flush(command));
      const callers = batch.get(prefixedChannel) ?? [];
      callers.push({ resolve, reject });
      batch.set(prefixedChannel, callers);
    });
  }

  private flush(command: 'subscribe' | 'unsubscribe'): void {
    const batch = new Map(this.batches[command]);
    this.batches[command].clear();
    const settle = (outcome: (caller: Settle) => void) => {
      for (const callers of batch.values()) callers.forEach(outcome);
    };
    if (this.closed) return settle(({ resolve }) => resolve());
    const subscriber = this.subscriberConnection();
    const sent =
      command === 'subscribe'
        ? subscriber.subscribe(...batch.keys())
        : subscriber.unsubscribe(...batch.keys());
    sent.then(
      () => settle(({ resolve }) => resolve()),
      (err: unknown) => settle(({ reject }) => reject(toError(err))),
    );
  }
}
