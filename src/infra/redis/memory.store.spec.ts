import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { MemoryStore, matchesGlob } from './memory.store';

describe('matchesGlob', () => {
  it.each([
    ['*', '', true],
    ['*', 'anything', true],
    ['a*', 'a', true],
    ['a**b', 'axxb', true],
    ['*b', 'ab', true],
    ['*b', 'ba', false],
    ['?', '', false],
    ['?', 'x', true],
    ['??', 'x', false],
    ['a?c', 'abc', true],
    ['[abc]', 'b', true],
    ['[abc]', 'd', false],
    ['[^abc]', 'd', true],
    ['[^abc]', 'a', false],
    ['[a-c]x', 'bx', true],
    ['[c-a]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[]', 'a', false],
    ['[\\]]', ']', true],
    ['[\\-]', '-', true],
    ['[abc', 'b', true],
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['a\\?', 'a?', true],
    ['a\\[b]', 'a[b]', true],
    ['a\\', 'a\\', true],
    ['user:*:session', 'user:42:session', true],
    ['user:*:session', 'user:42:sessions', false],
    ['é', 'é', true],
    ['?', 'é', false],
    ['??', 'é', true],
  ])('%j against %j is %s', (pattern, subject, expected) => {
    expect(matchesGlob(pattern, subject)).toBe(expected);
  });
});

describe('MemoryStore', () => {
  let clock: number;
  let store: MemoryStore;

  beforeEach(() => {
    clock = 1_000_000;
    store = new MemoryStore({ now: () => clock });
  });

  afterEach(() => store.close());

  it('expires keys lazily at their deadline', async () => {
    await store.set('k', 'v', { ttlMs: 100 });
    await store.hset('h', { f: 'v' });
    await store.pexpire('h', 100);
    clock += 99;
    expect(await store.get('k')).toBe('v');
    expect(await store.pttl('k')).toBe(1);
    clock += 1;
    expect(await store.get('k')).toBeNull();
    expect(await store.exists('h')).toBe(false);
    expect(await store.pttl('k')).toBe(-2);
    expect(await store.set('k', 'new', { onlyIfAbsent: true })).toBe(true);
    expect(await store.pttl('k')).toBe(-1);
  });

  it('does not count or scan expired keys', async () => {
    await store.set('gone', 'v', { ttlMs: 10 });
    await store.set('kept', 'v');
    clock += 10;
    expect(await store.del('gone', 'kept')).toBe(1);
    await store.set('gone', 'v', { ttlMs: 10 });
    await store.set('kept', 'v');
    clock += 10;
    const scanned: string[] = [];
    for await (const batch of store.scan('*')) scanned.push(...batch);
    expect(scanned).toEqual(['kept']);
  });

  it('keeps the TTL through hset, sadd and incr, as Redis does', async () => {
    await store.hset('h', { a: '1' });
    await store.pexpire('h', 500);
    await store.hset('h', { b: '2' });
    await store.incr('n');
    await store.pexpire('n', 500);
    await store.incr('n');
    expect(await store.pttl('h')).toBe(500);
    expect(await store.pttl('n')).toBe(500);
  });

  it('raises WRONGTYPE for every command family on a key of another type', async () => {
    await store.set('str', 'x');
    await store.hset('hash', { f: 'v' });
    await store.sadd('set', 'm');
    const wrong = [
      store.get('hash'),
      store.getdel('hash'),
      store.incr('set'),
      store.hset('str', { f: 'v' }),
      store.hget('set', 'f'),
      store.hgetall('str'),
      store.hdel('str', 'f'),
      store.sadd('hash', 'm'),
      store.srem('str', 'm'),
      store.smembers('hash'),
      store.scard('str'),
    ];
    for (const result of await Promise.allSettled(wrong)) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason.message).toMatch(/^WRONGTYPE /);
    }
    expect(await store.del('str', 'hash', 'set')).toBe(3);
  });

  it('rejects invalid integers', async () => {
    for (const text of ['', ' 1', '01', '+1', '1.0', '-0', '9007199254740993']) {
      await store.set('n', text);
      await expect(store.incr('n')).rejects.toThrow('ERR value is not an integer or out of range');
    }
    await store.set('n', '-5');
    expect(await store.incr('n')).toBe(-4);
    await expect(store.pexpire('n', 1.5)).rejects.toThrow(/^ERR value is not an integer/);
  });

  it('scans a snapshot in batches of at most count keys', async () => {
    for (let i = 0; i < 25; i++) await store.set(`k${i}`, 'v');
    const batches: string[][] = [];
    for await (const batch of store.scan('k*', 10)) {
      batches.push(batch);
      if (batches.length === 1) {
        await store.set('added-during-scan', 'v');
        await store.del('k24');
      }
    }
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 4]);
    expect(batches.flat()).not.toContain('k24');
    expect(batches.flat()).not.toContain('added-during-scan');
  });

  it('publishes on a later turn, never synchronously', async () => {
    const received: string[] = [];
    await store.subscribe('c', (message) => received.push(message));
    const published = store.publish('c', 'm');
    expect(await published).toBe(1);
    expect(received).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual(['m']);
  });

  it('applies a multi in one synchronous step', async () => {
    const pending = store.multi().set('a', '1').set('b', '2').exec();
    const read = store.get('b');
    await pending;
    expect(await read).toBe('2');
  });

  it('counts the same function subscribed twice as two listeners', async () => {
    const received: string[] = [];
    const listener = (message: string) => received.push(message);
    const first = await store.subscribe('c', listener);
    await store.subscribe('c', listener);
    await first.unsubscribe();
    await store.publish('c', 'm');
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual(['m']);
    expect(store.subscribedChannels()).toEqual(['c']);
  });

  it('drops pending deliveries and data when closed', async () => {
    const received: string[] = [];
    await store.subscribe('c', (message) => received.push(message));
    await store.set('k', 'v');
    await store.publish('c', 'm');
    await store.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual([]);
    expect(store.subscribedChannels()).toEqual([]);
    for (const call of [
      () => store.get('k'),
      () => store.set('k', 'v'),
      () => store.del('k'),
      () => store.hgetall('h'),
      () => store.smembers('s'),
      () => store.pipeline().get('k').exec(),
      () => store.ping(),
    ]) {
      await expect(call()).rejects.toThrow('store is closed');
    }
  });
});

describe('MemoryStore kept in a file (the embedded stand-in across restarts)', () => {
  let dir: string;
  let path: string;
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-standin-'));
    path = join(dir, 'redis-standin.json');
    clock = 1_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('comes back after close() with every kind of value and the time left on each key', async () => {
    const first = new MemoryStore({ persistPath: path, now });
    await first.set('plain', 'v');
    await first.set('ticking', 'v', { ttlMs: 10_000 });
    await first.hset('session:1:a', { user_id: '1', ip: '203.0.113.9' });
    await first.pexpire('session:1:a', 60_000);
    await first.sadd('user_sessions:1', 'a', 'b');
    await first.close();

    clock += 4_000;
    const second = new MemoryStore({ persistPath: path, now });
    expect(await second.get('plain')).toBe('v');
    expect(await second.pttl('plain')).toBe(-1);
    expect(await second.pttl('ticking')).toBe(6_000);
    expect(await second.hgetall('session:1:a')).toEqual({ user_id: '1', ip: '203.0.113.9' });
    expect(await second.pttl('session:1:a')).toBe(56_000);
    expect((await second.smembers('user_sessions:1')).sort()).toEqual(['a', 'b']);
    await second.close();
  });

  it('does not bring back a key whose time ran out while it was stopped', async () => {
    const first = new MemoryStore({ persistPath: path, now });
    await first.set('short', 'v', { ttlMs: 1_000 });
    await first.set('long', 'v', { ttlMs: 100_000 });
    await first.close();

    clock += 5_000;
    const second = new MemoryStore({ persistPath: path, now });
    expect(await second.get('short')).toBeNull();
    expect(await second.get('long')).toBe('v');
    await second.close();
  });

  it('saves on its interval too, so a crash loses at most that much', async () => {
    jest.useFakeTimers();
    try {
      const store = new MemoryStore({ persistPath: path, now, saveIntervalMs: 1_000 });
      await store.set('k', 'v');
      expect(existsSync(path)).toBe(false);
      jest.advanceTimersByTime(1_000);
      expect(JSON.parse(readFileSync(path, 'utf8')).entries).toEqual([
        { key: 'k', kind: 'string', value: 'v' },
      ]);
      await store.close();
    } finally {
      jest.useRealTimers();
    }
  });

  it('starts empty, and says so, when the file is not a saved store', async () => {
    writeFileSync(path, '{"not": "a store"');
    const errors: Error[] = [];
    const store = new MemoryStore({ persistPath: path, now, onError: (err) => errors.push(err) });
    expect(await store.get('anything')).toBeNull();
    expect(errors.map((err) => err.message)).toEqual([
      expect.stringContaining(`could not load ${path}, starting empty`),
    ]);
    await store.close();
  });
});
