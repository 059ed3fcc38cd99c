import { randomUUID } from 'node:crypto';
import { IoRedisStore } from '../../src/infra/redis/ioredis.store';
import { MemoryStore } from '../../src/infra/redis/memory.store';
import type { RedisStore } from '../../src/infra/redis/redis-store';

/** A store on a fresh key prefix, and a cleanup that deletes its keys and closes it. */
export interface TestStore {
  store: RedisStore;
  cleanup(): Promise<void>;
}

export type TestStoreFactory = () => TestStore;

/**
 * Declares a suite once per driver: the in-process one always, the real one when REDIS_URL is set
 * (otherwise skipped, with the reason printed).
 */
export function describeForEachDriver(
  title: string,
  suite: (makeStore: TestStoreFactory, driver: RedisStore['driver']) => void,
): void {
  describe(`${title} (memory)`, () =>
    suite(() => {
      const store = new MemoryStore();
      return { store, cleanup: () => store.close() };
    }, 'memory'));
  const url = process.env.REDIS_URL;
  if (!url) {
    console.warn(`REDIS_URL unset: skipping "${title}" on real Redis`);
    describe.skip(`${title} (redis: REDIS_URL unset)`, () =>
      it('needs REDIS_URL', () => undefined));
    return;
  }
  describe(`${title} (redis)`, () =>
    suite(() => {
      const store = new IoRedisStore({ url, keyPrefix: `tessera-test:${randomUUID()}:` });
      return {
        store,
        cleanup: async () => {
          for await (const keys of store.scan('*', 500)) await store.del(...keys);
          await store.close();
        },
      };
    }, 'redis'));
}

/** Every key of the store with its value, whatever the key's type, for "nothing secret stored" checks. */
export async function dumpStore(store: RedisStore): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for await (const keys of store.scan('*', 500)) {
    for (const key of keys) {
      const value =
        (await store.get(key).catch(() => null)) ??
        JSON.stringify((await store.hgetall(key).catch(() => null)) ?? (await store.smembers(key)));
      entries.set(key, value);
    }
  }
  return entries;
}
