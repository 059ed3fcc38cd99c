import { createHash, randomBytes } from 'node:crypto';
import type { RedisStore } from '../../src/infra/redis/redis-store';
import { describeForEachDriver, dumpStore as dump } from '../support/store-drivers';
import {
  VerificationTokenManager,
  type VerificationType,
} from '../../src/tokens/verification-token.service';
import { waitFor } from '../support/wait-for';

type StoreFactory = () => RedisStore;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Counts every call made on the store, to prove that some inputs never reach it. */
function counting(store: RedisStore): { store: RedisStore; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => calls };
}

function describeVerificationTokens(name: RedisStore['driver'], makeStore: StoreFactory): void {
  describe(`VerificationTokenManager: ${name}`, () => {
    let store: RedisStore;
    let tokens: VerificationTokenManager;
    let userId: number;

    beforeEach(() => {
      store = makeStore();
      tokens = new VerificationTokenManager(store);
      userId = 1 + Math.floor(Math.random() * 1_000_000);
    });

    afterEach(async () => {
      for await (const keys of store.scan('*', 500)) await store.del(...keys);
      await store.close();
    });

    it('creates an opaque url-safe token of 256 bits', async () => {
      const token = await tokens.createVerificationToken(userId, 'email_verification');
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(await tokens.createVerificationToken(userId, 'phone_verification')).not.toBe(token);
    });

    it('validates without consuming, then confirms exactly once', async () => {
      const data = { email: 'new@example.test', nested: { n: 1 } };
      const before = Math.floor(Date.now() / 1000);
      const token = await tokens.createVerificationToken(userId, 'email_verification', data);

      const peeked = await tokens.validateVerificationToken(token);
      expect(peeked).toEqual({
        userId,
        type: 'email_verification',
        data,
        createdAt: expect.any(Number),
      });
      expect(peeked!.createdAt).toBeGreaterThanOrEqual(before);
      expect(peeked!.createdAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(await tokens.validateVerificationToken(token)).toEqual(peeked);

      expect(await tokens.confirmVerificationToken(token)).toEqual(peeked);
      expect(await tokens.confirmVerificationToken(token)).toBeNull();
      expect(await tokens.validateVerificationToken(token)).toBeNull();
      expect(await store.exists(`verification:${sha256(token)}`)).toBe(false);
    });

    it('defaults data to an empty object and the TTL to one hour', async () => {
      const token = await tokens.createVerificationToken(userId, 'password_reset');
      expect((await tokens.validateVerificationToken(token))?.data).toEqual({});
      const hash = sha256(token);
      for (const key of [`verification:${hash}`, `verification_latest:${userId}:password_reset`]) {
        const ttl = await store.pttl(key);
        expect(ttl).toBeGreaterThan(3_590_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      }
    });

    it('gives the record to exactly one of 20 concurrent confirmations', async () => {
      const token = await tokens.createVerificationToken(userId, 'password_reset', { via: 'mail' });
      const results = await Promise.all(
        Array.from({ length: 20 }, () => tokens.confirmVerificationToken(token)),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ userId, type: 'password_reset', data: { via: 'mail' } });
    });

    it('expires with its TTL', async () => {
      const token = await tokens.createVerificationToken(userId, 'email_verification', {}, 1);
      expect(await tokens.validateVerificationToken(token)).not.toBeNull();
      await waitFor(async () => (await tokens.validateVerificationToken(token)) === null, {
        timeoutMs: 5_000,
        message: 'verification token expiry',
      });
      expect(await tokens.confirmVerificationToken(token)).toBeNull();
      await waitFor(
        async () => !(await store.exists(`verification_latest:${userId}:email_verification`)),
        {
          timeoutMs: 5_000,
          message: 'latest-pointer expiry',
        },
      );
    });

    it('replaces the previous token of the same type only', async () => {
      const first = await tokens.createVerificationToken(userId, 'email_verification');
      const phone = await tokens.createVerificationToken(userId, 'phone_verification');
      const otherUser = await tokens.createVerificationToken(userId + 1, 'email_verification');
      const second = await tokens.createVerificationToken(userId, 'email_verification');

      expect(await tokens.validateVerificationToken(first)).toBeNull();
      expect(await store.exists(`verification:${sha256(first)}`)).toBe(false);
      expect(await tokens.confirmVerificationToken(first)).toBeNull();
      expect(await tokens.validateVerificationToken(second)).not.toBeNull();
      expect(await tokens.validateVerificationToken(phone)).not.toBeNull();
      expect(await tokens.validateVerificationToken(otherUser)).not.toBeNull();
      expect(await store.get(`verification_latest:${userId}:email_verification`)).toBe(
        sha256(second),
      );
    });

    it('leaves one live token when creations of the same type race', async () => {
      const created = await Promise.all(
        Array.from({ length: 10 }, () => tokens.createVerificationToken(userId, 'password_reset')),
      );
      const live = [];
      for (const token of created) {
        if (await tokens.validateVerificationToken(token)) live.push(token);
      }
      expect(live).toHaveLength(1);
      expect(await store.get(`verification_latest:${userId}:password_reset`)).toBe(sha256(live[0]));
    });

    it('after a confirmation, later tokens still replace one another', async () => {
      const pointer = `verification_latest:${userId}:phone_verification`;
      const first = await tokens.createVerificationToken(userId, 'phone_verification');
      expect(await tokens.confirmVerificationToken(first)).not.toBeNull();

      const second = await tokens.createVerificationToken(userId, 'phone_verification');
      const third = await tokens.createVerificationToken(userId, 'phone_verification');
      expect(await tokens.validateVerificationToken(second)).toBeNull();
      expect(await tokens.validateVerificationToken(third)).not.toBeNull();
      expect(await store.get(pointer)).toBe(sha256(third));
    });

    it('keeps the pointer of a newer token when an older one is confirmed', async () => {
      const pointer = `verification_latest:${userId}:email_verification`;
      const token = await tokens.createVerificationToken(userId, 'email_verification');
      // As if a newer token had been created while the older one was being confirmed.
      const newer = randomBytes(32).toString('base64url');
      await store.set(
        `verification:${sha256(newer)}`,
        (await store.get(`verification:${sha256(token)}`))!,
        {
          ttlMs: 60_000,
        },
      );
      await store.set(pointer, sha256(newer), { ttlMs: 60_000 });

      expect(await tokens.confirmVerificationToken(token)).not.toBeNull();
      expect(await store.get(pointer)).toBe(sha256(newer));
      expect(await tokens.validateVerificationToken(newer)).not.toBeNull();
    });

    it('answers null for garbage and forged tokens without asking the store', async () => {
      const probe = counting(store);
      const guarded = new VerificationTokenManager(probe.store);
      const garbage: unknown[] = [
        '',
        'a'.repeat(257),
        'abc$def',
        'has space',
        'dots.are.out',
        `${'a'.repeat(42)}=`,
        'verification:*',
        undefined,
        null,
        42,
        {},
        ['token'],
      ];
      for (const input of garbage) {
        expect(await guarded.validateVerificationToken(input as string)).toBeNull();
        expect(await guarded.confirmVerificationToken(input as string)).toBeNull();
      }
      expect(probe.calls()).toBe(0);

      const real = await tokens.createVerificationToken(userId, 'email_verification');
      const forged = [
        randomBytes(32).toString('base64url'),
        real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A'),
        real.toUpperCase() === real ? real.toLowerCase() : real.toUpperCase(),
        sha256(real),
        'a'.repeat(256),
      ];
      for (const token of forged) {
        expect(await tokens.validateVerificationToken(token)).toBeNull();
        expect(await tokens.confirmVerificationToken(token)).toBeNull();
      }
      expect(await tokens.validateVerificationToken(real)).not.toBeNull();
    });

    it('ignores a record that is not what the manager wrote', async () => {
      const token = randomBytes(32).toString('base64url');
      await store.set(`verification:${sha256(token)}`, '{"user_id":"1","type":"x"}', {
        ttlMs: 60_000,
      });
      expect(await tokens.validateVerificationToken(token)).toBeNull();
    });

    it('refuses nonsense when creating', async () => {
      await expect(tokens.createVerificationToken(0, 'email_verification')).rejects.toThrow(
        TypeError,
      );
      await expect(
        tokens.createVerificationToken(userId, 'nope' as VerificationType),
      ).rejects.toThrow(TypeError);
      await expect(
        tokens.createVerificationToken(userId, 'email_verification', {}, 0.5),
      ).rejects.toThrow(RangeError);
    });

    it('never stores a raw token in a key or a value', async () => {
      const created = [
        await tokens.createVerificationToken(userId, 'email_verification', { a: 1 }),
        await tokens.createVerificationToken(userId, 'phone_verification'),
        await tokens.createVerificationToken(userId, 'password_reset'),
        await tokens.createVerificationToken(userId + 1, 'password_reset'),
      ];
      const entries = await dump(store);
      expect(entries.size).toBe(8);
      for (const [key, value] of entries) {
        for (const token of created) {
          expect(key).not.toContain(token);
          expect(value).not.toContain(token);
        }
      }
    });
  });
}

describeForEachDriver('VerificationTokenManager', (makeStore, driver) =>
  describeVerificationTokens(driver, () => makeStore().store),
);
