import { Redis, ReplyError, type ChainableCommander, type RedisOptions } from 'ioredis';
import { DependencyUnavailableError } from '../availability/dependency-unavailable.error';
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
  /**
   * A command that Redis has not answered after this long fails (as unavailable), however the
   * connection is doing. REDIS_COMMAND_TIMEOUT_MS; 2000 when not given.
   */
  commandTimeoutMs?: number;
  /**
   * Receives the first connection error of an outage (later ones are not repeated until the
   * connection is back) and listeners' exceptions.
   */
  onError?: (err: Error) => void;
  /** Told when a connection that was lost is ready again. */
  onRestored?: (connection: 'command' | 'subscriber') => void;
}

const DEFAULT_SCAN_COUNT = 100;

/**
 * The connections keep retrying while Redis is down (every 2 s at most). Commands wait for the
 * first connection only: once a connection was ready and is lost, `run` fails commands at once
 * (docs/RELIABILITY.md, "Failing closed"), and those caught in flight fail after one reconnection
 * attempt or the command timeout. The store resubscribes itself, to know when that is done.
 */
const CONNECTION_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  connectTimeout: 5_000,
  autoResubscribe: false,
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

/** Whether each connection has been ready once: before that, commands wait for it. */
const ready = new WeakMap<Redis, boolean>();

/** A connection that was ready and is not now: Redis went away and ioredis is reconnecting. */
function lost(connection: Redis): boolean {
  return ready.get(connection) === true && connection.status !== 'ready';
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
    private readonly run: (
      send: (chain: ChainableCommander) => ReturnType<ChainableCommander['exec']>,
    ) => ReturnType<ChainableCommander['exec']>,
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

  hget(key: string, field: string): this {
    return this.queue((chain) => chain.hget(this.prefix + key, field));
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
    const sent = this.commands.filter((command) => 'send' in command);
    const replies =
      sent.length > 0
        ? await this.run((chain) => {
            for (const command of sent) command.send(chain);
            return chain.exec();
          })
        : [];
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
  private readonly onRestored: (connection: 'command' | 'subscriber') => void;
  private readonly commandTimeoutMs: number;
  private readonly connection: Redis;
  private readonly restoredListeners = new Set<() => void>();
  /**
   * Messages that arrive while the store resubscribes after an outage, held until the restored
   * listeners ran: a listener learns of the outage before any message published after it.
   */
  private held?: [channel: string, message: string][];
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
    this.onRestored = options.onRestored ?? (() => undefined);
    this.commandTimeoutMs = options.commandTimeoutMs ?? 2_000;
    this.connection = this.connect('command', { enableAutoPipelining: true });
  }

  get(key: string): Promise<string | null> {
    return this.run((client) => client.get(this.prefix + key));
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    return isOk(
      await this.run((client) =>
        client.call('SET', [this.prefix + key, value, ...setArguments(options)]),
      ),
    );
  }

  getdel(key: string): Promise<string | null> {
    return this.run((client) => client.getdel(this.prefix + key));
  }

  async del(...keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.run((client) => client.del(...keys.map((key) => this.prefix + key)));
  }

  async exists(key: string): Promise<boolean> {
    return (await this.run((client) => client.exists(this.prefix + key))) > 0;
  }

  async pexpire(key: string, ttlMs: number): Promise<boolean> {
    return isOne(await this.run((client) => client.pexpire(this.prefix + key, ttlMs)));
  }

  pttl(key: string): Promise<number> {
    return this.run((client) => client.pttl(this.prefix + key));
  }

  incr(key: string): Promise<number> {
    return this.run((client) => client.incr(this.prefix + key));
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    await this.run((client) => client.hset(this.prefix + key, fields));
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.run((client) => client.hget(this.prefix + key, field));
  }

  async hgetall(key: string): Promise<Record<string, string> | null> {
    return hashOrNull(await this.run((client) => client.hgetall(this.prefix + key)));
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    if (fields.length === 0) return 0;
    return this.run((client) => client.hdel(this.prefix + key, ...fields));
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.run((client) => client.sadd(this.prefix + key, ...members));
  }

  async srem(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.run((client) => client.srem(this.prefix + key, ...members));
  }

  smembers(key: string): Promise<string[]> {
    return this.run((client) => client.smembers(this.prefix + key));
  }

  scard(key: string): Promise<number> {
    return this.run((client) => client.scard(this.prefix + key));
  }

  async *scan(pattern: string, count = DEFAULT_SCAN_COUNT): AsyncIterable<string[]> {
    const match = escapeGlob(this.prefix) + pattern;
    let cursor = '0';
    do {
      const [next, keys] = await this.run((client) =>
        client.scan(cursor, 'MATCH', match, 'COUNT', count),
      );
      cursor = next;
      if (keys.length > 0) yield keys.map((key) => key.slice(this.prefix.length));
    } while (cursor !== '0');
  }

  multi(): StoreBatch {
    return new IoRedisBatch((send) => this.run((client) => send(client.multi())), this.prefix);
  }

  pipeline(): StoreBatch {
    return new IoRedisBatch((send) => this.run((client) => send(client.pipeline())), this.prefix);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.run((client) => client.publish(this.prefix + channel, message));
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
    await this.run((client) => client.ping());
  }

  async memoryUsage(): Promise<StoreMemoryUsage> {
    const info = await this.run((client) => client.info('memory'));
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

  onSubscriberRestored(listener: () => void): () => void {
    this.restoredListeners.add(listener);
    return () => this.restoredListeners.delete(listener);
  }

  /**
   * Runs a command on the command connection. While that connection is lost, it fails at once
   * instead of joining a queue that grows for as long as the outage lasts; any failure other than
   * Redis's own reply (WRONGTYPE, …) becomes a DependencyUnavailableError.
   */
  private async run<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    this.assertOpen();
    if (lost(this.connection)) throw new DependencyUnavailableError('redis');
    try {
      return await command(this.connection);
    } catch (err) {
      if (err instanceof ReplyError || this.closed) throw err;
      throw new DependencyUnavailableError('redis', err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /**
   * The command connection pipelines automatically: commands issued in the same turn of the event
   * loop (by concurrent requests) leave in one write, which is where a loaded instance spent most
   * of its system time (docs/PERFORMANCE.md, "What was made faster").
   */
  private connect(name: 'command' | 'subscriber', options: RedisOptions = {}): Redis {
    const connection = new Redis(this.url, {
      ...CONNECTION_OPTIONS,
      commandTimeout: this.commandTimeoutMs,
      ...options,
    });
    ready.set(connection, false);
    let reported = false;
    const report = (err: Error) => {
      if (reported || this.closed) return;
      reported = true;
      this.onError(err);
    };
    connection.on('error', (err: unknown) => report(toError(err)));
    connection.on('close', () => {
      if (ready.get(connection)) report(new Error(`${name} connection lost; reconnecting`));
    });
    connection.on('ready', () => {
      const again = ready.get(connection) === true;
      ready.set(connection, true);
      if (reported || again) this.onRestored(name);
      reported = false;
      if (again && name === 'subscriber') void this.resubscribe();
    });
    return connection;
  }

  private subscriberConnection(): Redis {
    if (!this.subscriber) {
      const subscriber = this.connect('subscriber');
      subscriber.on('message', (channel: string, message: string) =>
        this.dispatch(channel, message),
      );
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  /**
   * After the subscriber connection came back, a new connection holds no channel: subscribes again
   * to every channel that has listeners (one SUBSCRIBE), then tells `onSubscriberRestored`
   * listeners, whose messages published meanwhile were lost.
   */
  private async resubscribe(): Promise<void> {
    this.subscribed.clear();
    this.held ??= [];
    const channels = [...this.listeners.keys()];
    const results = await Promise.allSettled(channels.map((channel) => this.reconcile(channel)));
    for (const result of results) {
      if (result.status === 'rejected') this.onError(toError(result.reason));
    }
    const held = this.held ?? [];
    this.held = undefined;
    if (this.closed) return;
    for (const listener of [...this.restoredListeners]) {
      try {
        listener();
      } catch (err) {
        this.onError(toError(err));
      }
    }
    for (const [channel, message] of held) this.dispatch(channel, message);
  }

  private dispatch(prefixedChannel: string, message: string): void {
    if (this.held) {
      this.held.push([prefixedChannel, message]);
      return;
    }
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
    if (lost(subscriber)) {
      return settle(({ reject }) => reject(new DependencyUnavailableError('redis')));
    }
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
