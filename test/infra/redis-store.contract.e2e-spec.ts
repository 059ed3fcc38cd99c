import { randomUUID } from 'node:crypto';
import { IoRedisStore } from '../../src/infra/redis/ioredis.store';
import { MemoryStore } from '../../src/infra/redis/memory.store';
import type { RedisStore } from '../../src/infra/redis/redis-store';
import { waitFor } from '../support/wait-for';

type StoreFactory = (prefix: string, onError?: (err: Error) => void) => RedisStore;

const newPrefix = () => `tessera-test:${randomUUID()}:`;

async function collect(scan: AsyncIterable<string[]>): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of scan) batches.push(batch);
  return batches;
}

/**
 * The behaviour both drivers must share. Tests that need a second instance seeing the same data
 * (one Redis server shared by several processes) run for the redis driver only.
 */
function describeContract(name: RedisStore['driver'], makeStore: StoreFactory): void {
  const sharedServer = name === 'redis';
  const itSharedServer = sharedServer ? it : it.skip;

  describe(`RedisStore contract: ${name}`, () => {
    let prefix: string;
    let store: RedisStore;
    let stores: RedisStore[];

    const track = (extra: RedisStore): RedisStore => {
      stores.push(extra);
      return extra;
    };

    beforeEach(() => {
      prefix = newPrefix();
      stores = [];
      store = track(makeStore(prefix));
    });

    afterEach(async () => {
      for (const each of stores) {
        for await (const keys of each.scan('*', 500)) await each.del(...keys);
        await each.close();
      }
    });

    it('reports its driver and answers ping', async () => {
      expect(store.driver).toBe(name);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('gets, sets, deletes and tells existence', async () => {
      expect(await store.get('k')).toBeNull();
      expect(await store.exists('k')).toBe(false);
      expect(await store.set('k', 'v1')).toBe(true);
      expect(await store.get('k')).toBe('v1');
      expect(await store.exists('k')).toBe(true);
      expect(await store.set('k', 'v2')).toBe(true);
      expect(await store.get('k')).toBe('v2');
      await store.set('k2', 'x');
      expect(await store.del('k', 'k2', 'missing')).toBe(2);
      expect(await store.del()).toBe(0);
      expect(await store.get('k')).toBeNull();
    });

    it('sets only when absent with onlyIfAbsent', async () => {
      expect(await store.set('k', 'first', { onlyIfAbsent: true })).toBe(true);
      expect(await store.set('k', 'second', { onlyIfAbsent: true })).toBe(false);
      expect(await store.get('k')).toBe('first');
      expect(await store.set('t', 'v', { onlyIfAbsent: true, ttlMs: 60_000 })).toBe(true);
      expect(await store.pttl('t')).toBeGreaterThan(0);
    });

    it('expires a key after its TTL', async () => {
      expect(await store.set('short', 'v', { ttlMs: 100 })).toBe(true);
      expect(await store.get('short')).toBe('v');
      await waitFor(async () => !(await store.exists('short')), {
        timeoutMs: 3_000,
        message: 'key expiry',
      });
      expect(await store.get('short')).toBeNull();
      expect(await store.pttl('short')).toBe(-2);
    });

    it('rejects a TTL that is not a positive integer', async () => {
      await expect(store.set('k', 'v', { ttlMs: 0 })).rejects.toThrow(/^ERR invalid expire time/);
      await expect(store.set('k', 'v', { ttlMs: 1.5 })).rejects.toThrow(/^ERR value is not an/);
      expect(await store.exists('k')).toBe(false);
    });

    it('follows pexpire and pttl semantics', async () => {
      expect(await store.pttl('missing')).toBe(-2);
      expect(await store.pexpire('missing', 1_000)).toBe(false);
      await store.set('k', 'v');
      expect(await store.pttl('k')).toBe(-1);
      expect(await store.pexpire('k', 10_000)).toBe(true);
      const ttl = await store.pttl('k');
      expect(ttl).toBeGreaterThan(9_000);
      expect(ttl).toBeLessThanOrEqual(10_000);
      await store.set('k', 'again');
      expect(await store.pttl('k')).toBe(-1);
      expect(await store.pexpire('k', 0)).toBe(true);
      expect(await store.exists('k')).toBe(false);
    });

    it('increments integers and keeps the TTL', async () => {
      expect(await store.incr('n')).toBe(1);
      expect(await store.incr('n')).toBe(2);
      expect(await store.get('n')).toBe('2');
      await store.pexpire('n', 60_000);
      expect(await store.incr('n')).toBe(3);
      expect(await store.pttl('n')).toBeGreaterThan(0);
      await store.set('text', 'abc');
      await expect(store.incr('text')).rejects.toThrow(/^ERR value is not an integer/);
    });

    it('reads and writes hashes, deleting the key with its last field', async () => {
      expect(await store.hgetall('h')).toBeNull();
      expect(await store.hget('h', 'a')).toBeNull();
      expect(await store.hdel('h', 'a')).toBe(0);
      await store.hset('h', { a: '1', b: '2' });
      await store.hset('h', { b: '3', c: '4' });
      expect(await store.hget('h', 'b')).toBe('3');
      expect(await store.hget('h', 'missing')).toBeNull();
      expect(await store.hgetall('h')).toEqual({ a: '1', b: '3', c: '4' });
      expect(await store.hdel('h', 'a', 'missing')).toBe(1);
      expect(await store.hdel('h')).toBe(0);
      expect(await store.hdel('h', 'b', 'c')).toBe(2);
      expect(await store.exists('h')).toBe(false);
      expect(await store.hgetall('h')).toBeNull();
    });

    it('reads and writes sets, deleting the key with its last member', async () => {
      expect(await store.smembers('s')).toEqual([]);
      expect(await store.scard('s')).toBe(0);
      expect(await store.srem('s', 'a')).toBe(0);
      expect(await store.sadd('s', 'a', 'b', 'a')).toBe(2);
      expect(await store.sadd('s', 'b', 'c')).toBe(1);
      expect(await store.sadd('s')).toBe(0);
      expect((await store.smembers('s')).sort()).toEqual(['a', 'b', 'c']);
      expect(await store.scard('s')).toBe(3);
      expect(await store.srem('s', 'a', 'z')).toBe(1);
      expect(await store.srem('s', 'b', 'c')).toBe(2);
      expect(await store.exists('s')).toBe(false);
    });

    it('surfaces WRONGTYPE errors and lets set replace any type', async () => {
      await store.set('str', 'x');
      await store.hset('hash', { f: 'v' });
      await store.sadd('set', 'm');
      await expect(store.hget('str', 'f')).rejects.toThrow(/^WRONGTYPE/);
      await expect(store.hgetall('set')).rejects.toThrow(/^WRONGTYPE/);
      await expect(store.sadd('hash', 'm')).rejects.toThrow(/^WRONGTYPE/);
      await expect(store.smembers('str')).rejects.toThrow(/^WRONGTYPE/);
      await expect(store.get('hash')).rejects.toThrow(/^WRONGTYPE/);
      await expect(store.getdel('set')).rejects.toThrow(/^WRONGTYPE/);
      await expect(store.incr('hash')).rejects.toThrow(/^WRONGTYPE/);
      expect(await store.set('hash', 'now a string')).toBe(true);
      expect(await store.get('hash')).toBe('now a string');
    });

    it('getdel hands the value to exactly one of 20 concurrent callers', async () => {
      const callers = sharedServer
        ? [store, track(makeStore(prefix)), track(makeStore(prefix))]
        : [store];
      for (let round = 0; round < 5; round++) {
        await store.set('once', `value-${round}`);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => callers[i % callers.length].getdel('once')),
        );
        expect(results.filter((result) => result !== null)).toEqual([`value-${round}`]);
        expect(await store.exists('once')).toBe(false);
      }
      expect(await store.getdel('once')).toBeNull();
    });

    it('multi returns results in queue order with the single commands’ values', async () => {
      await store.set('doomed', 'x');
      const results = await store
        .multi()
        .set('a', '1', { ttlMs: 60_000 })
        .set('a', '2', { onlyIfAbsent: true })
        .incr('n')
        .hset('h', { f: 'v' })
        .sadd('s', 'x', 'y')
        .srem('s', 'x')
        .hgetall('h')
        .hgetall('missing')
        .hget('h', 'f')
        .hget('h', 'absent')
        .get('a')
        .pexpire('n', 60_000)
        .pexpire('missing', 60_000)
        .del('doomed', 'missing')
        .publish('nobody-listens', 'm')
        .exec();
      expect(results).toEqual([
        true,
        false,
        1,
        undefined,
        2,
        1,
        { f: 'v' },
        null,
        'v',
        null,
        '1',
        true,
        false,
        1,
        0,
      ]);
      expect(await store.smembers('s')).toEqual(['y']);
      expect(await store.get('n')).toBe('1');
    });

    it('multi runs with no other command in between', async () => {
      const callers = sharedServer ? [store, track(makeStore(prefix))] : [store];
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          callers[i % callers.length].multi().incr('counter').incr('counter').exec(),
        ),
      );
      for (const [first, second] of results) expect(second).toBe((first as number) + 1);
      expect(await store.get('counter')).toBe('80');
    });

    it('multi and pipeline yield a failing command’s Error in place', async () => {
      await store.set('str', 'x');
      for (const batch of [store.multi(), store.pipeline()]) {
        const [ok, failed, read] = await batch.sadd('s', 'm').hgetall('str').get('str').exec();
        expect(ok).toBe(1);
        expect(failed).toBeInstanceOf(Error);
        expect((failed as Error).message).toMatch(/^WRONGTYPE/);
        expect(read).toBe('x');
        await store.del('s');
      }
    });

    it('pipeline returns every result in order', async () => {
      const results = await store
        .pipeline()
        .set('p', 'v')
        .get('p')
        .incr('pn')
        .hset('ph', { a: '1' })
        .hgetall('ph')
        .hgetall('nothing')
        .sadd('ps', 'a')
        .del('p')
        .del()
        .exec();
      expect(results).toEqual([true, 'v', 1, undefined, { a: '1' }, null, 1, 1, 0]);
      expect(await store.pipeline().exec()).toEqual([]);
    });

    it('scan finds exactly the matching keys, unprefixed, in several batches', async () => {
      const expected = Array.from({ length: 250 }, (_, i) => `scan:${i}`);
      const writes = store.pipeline();
      for (const key of expected) writes.set(key, 'v');
      for (let i = 0; i < 30; i++) writes.set(`other:${i}`, 'v');
      await writes.exec();

      const batches = await collect(store.scan('scan:*', 50));
      const found = new Set(batches.flat());
      expect(batches.length).toBeGreaterThan(1);
      expect([...found].sort()).toEqual([...expected].sort());
    });

    it('scan does not see another prefix’s keys', async () => {
      const other = track(makeStore(newPrefix()));
      await other.set('scan:foreign', 'v');
      await other.set('scan:1', 'v');
      await store.set('scan:1', 'mine');
      expect((await collect(store.scan('scan:*'))).flat()).toEqual(['scan:1']);
      expect((await collect(store.scan('*'))).flat()).toEqual(['scan:1']);
    });

    it('scan matches globs as Redis does', async () => {
      const keys = ['a1', 'a2', 'ab', 'abc', 'b1', 'a*', 'a?', 'a[1]', 'a\\b'];
      await Promise.all(keys.map((key) => store.set(key, 'v')));
      const scanned = async (pattern: string) => (await collect(store.scan(pattern))).flat().sort();
      expect(await scanned('a?')).toEqual(['a*', 'a1', 'a2', 'a?', 'ab'].sort());
      expect(await scanned('a[12]')).toEqual(['a1', 'a2']);
      expect(await scanned('a[^1]')).toEqual(['a*', 'a2', 'a?', 'ab'].sort());
      expect(await scanned('a[a-c]*')).toEqual(['ab', 'abc']);
      expect(await scanned('a\\*')).toEqual(['a*']);
      expect(await scanned('a\\[1]')).toEqual(['a[1]']);
      expect(await scanned('a\\\\b')).toEqual(['a\\b']);
      expect(await scanned('*1*')).toEqual(['a1', 'a[1]', 'b1'].sort());
      expect(await scanned('nothing*')).toEqual([]);
    });

    it('scan works under a prefix holding glob characters', async () => {
      const globby = track(makeStore(`${prefix}g[*]?\\:`));
      await globby.set('k', 'v');
      await store.set('k', 'v');
      expect((await collect(globby.scan('*'))).flat()).toEqual(['k']);
    });

    describe('publish/subscribe', () => {
      type Received = [message: string, channel: string];

      it('delivers to a listener with the channel and counts receivers', async () => {
        const received: Received[] = [];
        const subscription = await store.subscribe('news', (message, channel) =>
          received.push([message, channel]),
        );
        expect(await store.publish('elsewhere', 'lost')).toBe(0);
        expect(await store.publish('news', 'hello')).toBe(1);
        await waitFor(() => received.length > 0, { message: 'delivery' });
        expect(received).toEqual([['hello', 'news']]);
        await subscription.unsubscribe();
      });

      it('counts channels, not listeners, and unsubscribes after the last one', async () => {
        const baseline = store.subscribedChannels();
        const first: string[] = [];
        const second: string[] = [];
        const a = await store.subscribe('room', (message) => first.push(message));
        const b = await store.subscribe('room', (message) => second.push(message));
        expect(store.subscribedChannels().sort()).toEqual([...baseline, 'room'].sort());

        expect(await store.publish('room', 'one')).toBe(1);
        await waitFor(() => first.length === 1 && second.length === 1, { message: 'both' });

        await a.unsubscribe();
        await a.unsubscribe();
        expect(store.subscribedChannels().sort()).toEqual([...baseline, 'room'].sort());
        expect(await store.publish('room', 'two')).toBe(1);
        await waitFor(() => second.length === 2, { message: 'second listener' });
        expect(first).toEqual(['one']);

        await b.unsubscribe();
        expect(store.subscribedChannels()).toEqual(baseline);
        expect(await store.publish('room', 'three')).toBe(0);
        await b.unsubscribe();
        expect(store.subscribedChannels()).toEqual(baseline);
      });

      it('keeps a subscription that races the unsubscribe of the channel’s last listener', async () => {
        const received: string[] = [];
        const first = await store.subscribe('race', () => undefined);
        const [, second] = await Promise.all([
          first.unsubscribe(),
          store.subscribe('race', (message) => received.push(message)),
        ]);
        expect(store.subscribedChannels()).toEqual(['race']);
        expect(await store.publish('race', 'kept')).toBe(1);
        await waitFor(() => received.length === 1, { message: 'delivery after the race' });

        await second.unsubscribe();
        expect(store.subscribedChannels()).toEqual([]);
        const third = await store.subscribe('race', (message) => received.push(message));
        expect(await store.publish('race', 'resubscribed')).toBe(1);
        await waitFor(() => received.length === 2, { message: 'delivery after resubscribing' });
        expect(received).toEqual(['kept', 'resubscribed']);
        await third.unsubscribe();
      });

      it('keeps delivering to other listeners when one throws', async () => {
        const errors: Error[] = [];
        const isolated = track(makeStore(newPrefix(), (err) => errors.push(err)));
        const received: string[] = [];
        await isolated.subscribe('c', () => {
          throw new Error('listener failed');
        });
        await isolated.subscribe('c', (message) => received.push(message));
        await isolated.publish('c', 'm1');
        await isolated.publish('c', 'm2');
        await waitFor(() => received.length === 2, {
          message: 'delivery past a throwing listener',
        });
        expect(received).toEqual(['m1', 'm2']);
        expect(errors.map((err) => err.message)).toEqual(['listener failed', 'listener failed']);
      });

      itSharedServer('receives messages published by another instance', async () => {
        const publisher = track(makeStore(prefix));
        const received: Received[] = [];
        await store.subscribe('shared', (message, channel) => received.push([message, channel]));
        expect(await publisher.publish('shared', 'from afar')).toBe(1);
        await waitFor(() => received.length === 1, { message: 'cross-instance delivery' });
        expect(received).toEqual([['from afar', 'shared']]);
      });

      itSharedServer('isolates channels by prefix', async () => {
        const other = track(makeStore(newPrefix()));
        const mine: string[] = [];
        const theirs: string[] = [];
        await store.subscribe('ch', (message) => mine.push(message));
        await other.subscribe('ch', (message) => theirs.push(message));
        expect(await other.publish('ch', 'for them')).toBe(1);
        expect(await store.publish('ch', 'for me')).toBe(1);
        await waitFor(() => mine.length === 1 && theirs.length === 1, { message: 'deliveries' });
        expect(mine).toEqual(['for me']);
        expect(theirs).toEqual(['for them']);
      });
    });

    it('rejects commands once closed', async () => {
      const closing = makeStore(prefix);
      const subscription = await closing.subscribe('c', () => undefined);
      await closing.set('written-before-close', 'v');
      await closing.close();
      await closing.close();
      expect(closing.subscribedChannels()).toEqual([]);
      await expect(subscription.unsubscribe()).resolves.toBeUndefined();
      await expect(closing.get('k')).rejects.toThrow('store is closed');
      await expect(closing.ping()).rejects.toThrow('store is closed');
      await expect(closing.publish('c', 'm')).rejects.toThrow('store is closed');
      await expect(closing.subscribe('c', () => undefined)).rejects.toThrow('store is closed');
      await expect(closing.multi().get('k').exec()).rejects.toThrow('store is closed');
      await expect(collect(closing.scan('*'))).rejects.toThrow('store is closed');
    });
  });
}

describeContract('memory', (_prefix, onError) => new MemoryStore({ onError }));

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  describeContract(
    'redis',
    (prefix, onError) => new IoRedisStore({ url: redisUrl, keyPrefix: prefix, onError }),
  );
} else {
  console.warn('REDIS_URL unset: skipping the ioredis contract run');
  describe.skip('RedisStore contract: redis (REDIS_URL unset)', () => {
    it('needs REDIS_URL', () => undefined);
  });
}
