import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type {
  MessageListener,
  RedisStore,
  SetOptions,
  StoreBatch,
  StoreMemoryUsage,
  Subscription,
} from './redis-store';

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const NOT_AN_INTEGER = 'ERR value is not an integer or out of range';
const SWEEP_INTERVAL_MS = 1_000;
const DEFAULT_SCAN_COUNT = 100;

type Value =
  | { kind: 'string'; value: string }
  | { kind: 'hash'; value: Map<string, string> }
  | { kind: 'set'; value: Set<string> };

export interface MemoryStoreOptions {
  /** Receives exceptions thrown by subscribers' listeners, and failed saves. */
  onError?: (err: Error) => void;
  /** Clock in epoch milliseconds; tests pass a fake one to control expiry. */
  now?: () => number;
  /**
   * A file to keep the data in across restarts: loaded at construction (what expired meanwhile is
   * left out), written every `saveIntervalMs` and at close().
   */
  persistPath?: string;
  saveIntervalMs?: number;
}

/** One key in the saved file; `expiresAt` in epoch ms. */
type SavedEntry =
  | { key: string; kind: 'string'; value: string; expiresAt?: number }
  | { key: string; kind: 'hash'; value: [string, string][]; expiresAt?: number }
  | { key: string; kind: 'set'; value: string[]; expiresAt?: number };

const SAVE_FORMAT = 1;
const DEFAULT_SAVE_INTERVAL_MS = 60_000;

/**
 * Redis glob matching (`*`, `?`, `[abc]`, `[^a-z]`, backslash escapes) over UTF-8 bytes, ported
 * from Redis's stringmatchlen so that both drivers agree on every pattern, quirks included.
 */
export function matchesGlob(pattern: string, subject: string): boolean {
  return matchFrom(Buffer.from(pattern), 0, Buffer.from(subject), 0);
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

function matchFrom(p: Uint8Array, pi: number, s: Uint8Array, si: number): boolean {
  while (pi < p.length && si < s.length) {
    switch (p[pi]) {
      case STAR: {
        while (p[pi + 1] === STAR) pi++;
        if (pi + 1 === p.length) return true;
        for (; si < s.length; si++) {
          if (matchFrom(p, pi + 1, s, si)) return true;
        }
        return false;
      }
      case QUESTION:
        si++;
        break;
      case OPEN: {
        pi++;
        const negate = p[pi] === CARET;
        if (negate) pi++;
        let matched = false;
        for (;;) {
          if (p[pi] === BACKSLASH && p.length - pi >= 2) {
            pi++;
            if (p[pi] === s[si]) matched = true;
          } else if (p[pi] === CLOSE) {
            break;
          } else if (pi >= p.length) {
            // An unclosed class ends with the pattern.
            pi--;
            break;
          } else if (p.length - pi >= 3 && p[pi + 1] === DASH) {
            const low = Math.min(p[pi], p[pi + 2]);
            const high = Math.max(p[pi], p[pi + 2]);
            if (s[si] >= low && s[si] <= high) matched = true;
            pi += 2;
          } else if (p[pi] === s[si]) {
            matched = true;
          }
          pi++;
        }
        if (matched === negate) return false;
        si++;
        break;
      }
      case BACKSLASH:
        if (p.length - pi >= 2) pi++;
        if (p[pi] !== s[si]) return false;
        si++;
        break;
      default:
        if (p[pi] !== s[si]) return false;
        si++;
    }
    pi++;
  }
  if (si === s.length) {
    while (p[pi] === STAR) pi++;
  }
  return pi === p.length && si === s.length;
}

function parseInteger(text: string): number {
  const value = Number(text);
  if (!/^(0|-?[1-9]\d*)$/.test(text) || !Number.isSafeInteger(value)) {
    throw new Error(NOT_AN_INTEGER);
  }
  return value;
}

function assertInteger(value: number): void {
  if (!Number.isSafeInteger(value)) throw new Error(NOT_AN_INTEGER);
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The data and its synchronous commands; every method is one atomic Redis command. */
class Keyspace {
  private readonly values = new Map<string, Value>();
  private readonly expiries = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  get(key: string): string | null {
    return this.read(key, 'string')?.value ?? null;
  }

  set(key: string, value: string, options: SetOptions = {}): boolean {
    const { ttlMs, onlyIfAbsent } = options;
    if (ttlMs !== undefined) {
      assertInteger(ttlMs);
      if (ttlMs <= 0) throw new Error("ERR invalid expire time in 'set' command");
    }
    if (onlyIfAbsent && this.live(key)) return false;
    this.values.set(key, { kind: 'string', value });
    if (ttlMs === undefined) this.expiries.delete(key);
    else this.expiries.set(key, this.now() + ttlMs);
    return true;
  }

  getdel(key: string): string | null {
    const entry = this.read(key, 'string');
    if (!entry) return null;
    this.remove(key);
    return entry.value;
  }

  del(keys: string[]): number {
    return keys.filter((key) => this.live(key) && this.remove(key)).length;
  }

  exists(key: string): boolean {
    return this.live(key) !== undefined;
  }

  pexpire(key: string, ttlMs: number): boolean {
    assertInteger(ttlMs);
    if (!this.live(key)) return false;
    if (ttlMs <= 0) this.remove(key);
    else this.expiries.set(key, this.now() + ttlMs);
    return true;
  }

  pttl(key: string): number {
    if (!this.live(key)) return -2;
    const expiresAt = this.expiries.get(key);
    return expiresAt === undefined ? -1 : expiresAt - this.now();
  }

  incr(key: string): number {
    const entry = this.read(key, 'string');
    const next = (entry ? parseInteger(entry.value) : 0) + 1;
    if (!Number.isSafeInteger(next)) throw new Error('ERR increment or decrement would overflow');
    if (entry) entry.value = String(next);
    else this.values.set(key, { kind: 'string', value: String(next) });
    return next;
  }

  hset(key: string, fields: Record<string, string>): void {
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    const hash = this.read(key, 'hash')?.value ?? new Map<string, string>();
    for (const [field, value] of entries) hash.set(field, value);
    this.values.set(key, { kind: 'hash', value: hash });
  }

  hget(key: string, field: string): string | null {
    return this.read(key, 'hash')?.value.get(field) ?? null;
  }

  hgetall(key: string): Record<string, string> | null {
    const entry = this.read(key, 'hash');
    return entry ? Object.fromEntries(entry.value) : null;
  }

  hdel(key: string, fields: string[]): number {
    if (fields.length === 0) return 0;
    const entry = this.read(key, 'hash');
    if (!entry) return 0;
    const removed = fields.filter((field) => entry.value.delete(field)).length;
    if (entry.value.size === 0) this.remove(key);
    return removed;
  }

  sadd(key: string, members: string[]): number {
    if (members.length === 0) return 0;
    const set = this.read(key, 'set')?.value ?? new Set<string>();
    const before = set.size;
    for (const member of members) set.add(member);
    this.values.set(key, { kind: 'set', value: set });
    return set.size - before;
  }

  srem(key: string, members: string[]): number {
    if (members.length === 0) return 0;
    const entry = this.read(key, 'set');
    if (!entry) return 0;
    const removed = members.filter((member) => entry.value.delete(member)).length;
    if (entry.value.size === 0) this.remove(key);
    return removed;
  }

  smembers(key: string): string[] {
    return [...(this.read(key, 'set')?.value ?? [])];
  }

  scard(key: string): number {
    return this.read(key, 'set')?.value.size ?? 0;
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  sweep(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.expiries) {
      if (expiresAt <= now) this.remove(key);
    }
  }

  clear(): void {
    this.values.clear();
    this.expiries.clear();
  }

  /** Every live key, for saving. */
  dump(): SavedEntry[] {
    const now = this.now();
    const entries: SavedEntry[] = [];
    for (const [key, entry] of this.values) {
      const expiresAt = this.expiries.get(key);
      if (expiresAt !== undefined && expiresAt <= now) continue;
      const ttl = expiresAt === undefined ? {} : { expiresAt };
      if (entry.kind === 'string')
        entries.push({ key, kind: 'string', value: entry.value, ...ttl });
      else if (entry.kind === 'hash')
        entries.push({ key, kind: 'hash', value: [...entry.value], ...ttl });
      else entries.push({ key, kind: 'set', value: [...entry.value], ...ttl });
    }
    return entries;
  }

  /** Puts saved keys back, leaving out those whose time ran out meanwhile. */
  load(entries: SavedEntry[]): void {
    const now = this.now();
    for (const entry of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) continue;
      const value: Value =
        entry.kind === 'string'
          ? { kind: 'string', value: entry.value }
          : entry.kind === 'hash'
            ? { kind: 'hash', value: new Map(entry.value) }
            : { kind: 'set', value: new Set(entry.value) };
      this.values.set(entry.key, value);
      if (entry.expiresAt !== undefined) this.expiries.set(entry.key, entry.expiresAt);
    }
  }

  private live(key: string): Value | undefined {
    const expiresAt = this.expiries.get(key);
    if (expiresAt !== undefined && expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return this.values.get(key);
  }

  private read<K extends Value['kind']>(
    key: string,
    kind: K,
  ): Extract<Value, { kind: K }> | undefined {
    const entry = this.live(key);
    if (entry && entry.kind !== kind) throw new Error(WRONGTYPE);
    return entry as Extract<Value, { kind: K }> | undefined;
  }

  private remove(key: string): boolean {
    this.expiries.delete(key);
    return this.values.delete(key);
  }
}

type Publish = (channel: string, message: string) => number;
type BatchCommand = (keyspace: Keyspace, publish: Publish) => unknown;

/** Queued commands run synchronously in one go at exec(), so nothing can interleave. */
class MemoryBatch implements StoreBatch {
  private readonly commands: BatchCommand[] = [];

  constructor(private readonly run: (commands: BatchCommand[]) => Promise<unknown[]>) {}

  get(key: string): this {
    return this.queue((keyspace) => keyspace.get(key));
  }

  set(key: string, value: string, options?: SetOptions): this {
    return this.queue((keyspace) => keyspace.set(key, value, options));
  }

  del(...keys: string[]): this {
    return this.queue((keyspace) => keyspace.del(keys));
  }

  pexpire(key: string, ttlMs: number): this {
    return this.queue((keyspace) => keyspace.pexpire(key, ttlMs));
  }

  hset(key: string, fields: Record<string, string>): this {
    return this.queue((keyspace) => keyspace.hset(key, fields));
  }

  hget(key: string, field: string): this {
    return this.queue((keyspace) => keyspace.hget(key, field));
  }

  hgetall(key: string): this {
    return this.queue((keyspace) => keyspace.hgetall(key));
  }

  sadd(key: string, ...members: string[]): this {
    return this.queue((keyspace) => keyspace.sadd(key, members));
  }

  srem(key: string, ...members: string[]): this {
    return this.queue((keyspace) => keyspace.srem(key, members));
  }

  incr(key: string): this {
    return this.queue((keyspace) => keyspace.incr(key));
  }

  publish(channel: string, message: string): this {
    return this.queue((_keyspace, publish) => publish(channel, message));
  }

  exec(): Promise<unknown[]> {
    return this.run(this.commands);
  }

  private queue(command: BatchCommand): this {
    this.commands.push(command);
    return this;
  }
}

/** In-process driver for a single instance, with the observable behaviour of `IoRedisStore`. */
export class MemoryStore implements RedisStore {
  readonly driver = 'memory';

  private readonly keyspace: Keyspace;
  private readonly listeners = new Map<string, Set<MessageListener>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly saver?: NodeJS.Timeout;
  private readonly onError: (err: Error) => void;
  private readonly persistPath?: string;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.keyspace = new Keyspace(options.now ?? Date.now);
    this.onError = options.onError ?? (() => undefined);
    this.sweeper = setInterval(() => this.keyspace.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    this.persistPath = options.persistPath;
    if (this.persistPath) {
      this.restore(this.persistPath);
      this.saver = setInterval(
        () => this.save(),
        options.saveIntervalMs ?? DEFAULT_SAVE_INTERVAL_MS,
      );
      this.saver.unref();
    }
  }

  get(key: string): Promise<string | null> {
    return this.run((keyspace) => keyspace.get(key));
  }

  set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    return this.run((keyspace) => keyspace.set(key, value, options));
  }

  getdel(key: string): Promise<string | null> {
    return this.run((keyspace) => keyspace.getdel(key));
  }

  del(...keys: string[]): Promise<number> {
    return this.run((keyspace) => keyspace.del(keys));
  }

  exists(key: string): Promise<boolean> {
    return this.run((keyspace) => keyspace.exists(key));
  }

  pexpire(key: string, ttlMs: number): Promise<boolean> {
    return this.run((keyspace) => keyspace.pexpire(key, ttlMs));
  }

  pttl(key: string): Promise<number> {
    return this.run((keyspace) => keyspace.pttl(key));
  }

  incr(key: string): Promise<number> {
    return this.run((keyspace) => keyspace.incr(key));
  }

  hset(key: string, fields: Record<string, string>): Promise<void> {
    return this.run((keyspace) => keyspace.hset(key, fields));
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.run((keyspace) => keyspace.hget(key, field));
  }

  hgetall(key: string): Promise<Record<string, string> | null> {
    return this.run((keyspace) => keyspace.hgetall(key));
  }

  hdel(key: string, ...fields: string[]): Promise<number> {
    return this.run((keyspace) => keyspace.hdel(key, fields));
  }

  sadd(key: string, ...members: string[]): Promise<number> {
    return this.run((keyspace) => keyspace.sadd(key, members));
  }

  srem(key: string, ...members: string[]): Promise<number> {
    return this.run((keyspace) => keyspace.srem(key, members));
  }

  smembers(key: string): Promise<string[]> {
    return this.run((keyspace) => keyspace.smembers(key));
  }

  scard(key: string): Promise<number> {
    return this.run((keyspace) => keyspace.scard(key));
  }

  /** Walks a snapshot of the key names taken at the start, like a SCAN cursor would. */
  async *scan(pattern: string, count = DEFAULT_SCAN_COUNT): AsyncIterable<string[]> {
    const snapshot = await this.run((keyspace) => keyspace.keys());
    for (let start = 0; start < snapshot.length; start += count) {
      const slice = snapshot.slice(start, start + count);
      const batch = await this.run((keyspace) =>
        slice.filter((key) => keyspace.exists(key) && matchesGlob(pattern, key)),
      );
      if (batch.length > 0) yield batch;
    }
  }

  multi(): StoreBatch {
    return new MemoryBatch((commands) => this.runBatch(commands));
  }

  pipeline(): StoreBatch {
    return new MemoryBatch((commands) => this.runBatch(commands));
  }

  publish(channel: string, message: string): Promise<number> {
    return this.run(() => this.deliver(channel, message));
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
    let active = true;
    return {
      unsubscribe: async () => {
        if (!active) return;
        active = false;
        const current = this.listeners.get(channel);
        current?.delete(entry);
        if (current?.size === 0) this.listeners.delete(channel);
      },
    };
  }

  subscribedChannels(): string[] {
    return [...this.listeners.keys()];
  }

  /** Nothing to restore: in-process subscriptions cannot be lost. */
  onSubscriberRestored(): () => void {
    return () => undefined;
  }

  ping(): Promise<void> {
    return this.run(() => undefined);
  }

  memoryUsage(): Promise<StoreMemoryUsage> {
    return this.run(() => {
      const { heapUsed, heapTotal } = process.memoryUsage();
      return { usedBytes: heapUsed, peakBytes: heapTotal, maxBytes: 0 };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    clearInterval(this.saver);
    this.save();
    this.listeners.clear();
    this.keyspace.clear();
  }

  /** Writes the data to `persistPath` (a new file renamed into place, so a crash leaves the old one). */
  private save(): void {
    if (!this.persistPath) return;
    try {
      const draft = `${this.persistPath}.${process.pid}.tmp`;
      writeFileSync(draft, JSON.stringify({ format: SAVE_FORMAT, entries: this.keyspace.dump() }));
      renameSync(draft, this.persistPath);
    } catch (err) {
      this.onError(toError(err));
    }
  }

  /** Loads `path` when it exists; an unreadable file is reported and the store starts empty. */
  private restore(path: string): void {
    if (!existsSync(path)) return;
    try {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as {
        format?: unknown;
        entries?: unknown;
      };
      if (saved.format !== SAVE_FORMAT || !Array.isArray(saved.entries)) {
        throw new Error(`${path} is not a saved store of format ${SAVE_FORMAT}`);
      }
      this.keyspace.load(saved.entries as SavedEntry[]);
    } catch (err) {
      this.onError(new Error(`could not load ${path}, starting empty: ${toError(err).message}`));
    }
  }

  private async run<T>(command: (keyspace: Keyspace) => T): Promise<T> {
    this.assertOpen();
    return command(this.keyspace);
  }

  private async runBatch(commands: BatchCommand[]): Promise<unknown[]> {
    this.assertOpen();
    const publish: Publish = (channel, message) => this.deliver(channel, message);
    return commands.map((command) => {
      try {
        return command(this.keyspace, publish);
      } catch (err) {
        return toError(err);
      }
    });
  }

  /**
   * Delivers on a later turn of the event loop, as a server round trip would. Returns the number
   * of subscriber connections reached, as Redis does: this store is one connection.
   */
  private deliver(channel: string, message: string): number {
    if (!this.listeners.has(channel)) return 0;
    setImmediate(() => {
      for (const listener of [...(this.listeners.get(channel) ?? [])]) {
        try {
          listener(message, channel);
        } catch (err) {
          this.onError(toError(err));
        }
      }
    });
    return 1;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}
