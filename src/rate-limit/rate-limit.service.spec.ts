import type { AppConfig } from '../config/app-config';
import { loadConfig } from '../config/load-config';
import { MemoryStore } from '../infra/redis/memory.store';
import { RateLimiter } from './rate-limit.service';

describe('RateLimiter', () => {
  let clock: number;
  let store: MemoryStore;
  let limiter: RateLimiter;

  beforeEach(() => {
    clock = 1_800_000_000_000;
    store = new MemoryStore({ now: () => clock });
    const config: AppConfig = loadConfig({
      DATA_DIR: '/tmp/tessera-rate-limit-spec',
      RATE_LIMIT_LOGIN_EMAIL: '3/60',
    });
    limiter = new RateLimiter(store, config);
  });
  afterEach(() => store.close());

  it('allows the limit, refuses the next with the seconds left in the window', async () => {
    for (let i = 0; i < 3; i += 1) {
      expect(await limiter.hit('loginEmail', 'email:a')).toEqual({
        allowed: true,
        retryAfterSeconds: 0,
      });
    }
    clock += 10_000;
    expect(await limiter.hit('loginEmail', 'email:a')).toEqual({
      allowed: false,
      retryAfterSeconds: 60,
    });
  });

  it('keeps a blocked caller out for a whole window after going over, then lets them in', async () => {
    for (let i = 0; i < 4; i += 1) await limiter.hit('loginEmail', 'email:a');
    clock += 59_000;
    expect(await limiter.hit('loginEmail', 'email:a')).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
    clock += 1_000;
    expect((await limiter.hit('loginEmail', 'email:a')).allowed).toBe(true);
  });

  it('counts each caller and each limit on its own', async () => {
    for (let i = 0; i < 4; i += 1) await limiter.hit('loginEmail', 'email:a');
    expect((await limiter.hit('loginEmail', 'email:b')).allowed).toBe(true);
    expect((await limiter.hit('loginIp', 'email:a')).allowed).toBe(true);
  });

  it('never leaves a counter without an expiry', async () => {
    await limiter.hit('loginEmail', 'email:a');
    expect(await store.pttl('rate:loginEmail:email:a')).toBe(60_000);
  });

  it('lets exactly the limit through when callers race', async () => {
    const verdicts = await Promise.all(
      Array.from({ length: 10 }, () => limiter.hit('loginEmail', 'email:race')),
    );
    expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(3);
  });

  it('peeks without counting', async () => {
    for (let i = 0; i < 10; i += 1) {
      expect(await limiter.peek('loginEmail', 'email:a')).toEqual({
        allowed: true,
        retryAfterSeconds: 0,
      });
    }
    expect(await store.get('rate:loginEmail:email:a')).toBeNull();
  });

  it('refuses after the recorded events reach the limit, for a whole window from the last', async () => {
    await limiter.record('loginEmail', 'email:a');
    await limiter.record('loginEmail', 'email:a');
    expect((await limiter.peek('loginEmail', 'email:a')).allowed).toBe(true);
    clock += 30_000;
    await limiter.record('loginEmail', 'email:a');
    expect(await limiter.peek('loginEmail', 'email:a')).toEqual({
      allowed: false,
      retryAfterSeconds: 60,
    });
    // The counter's window ends, the block does not.
    clock += 45_000;
    expect(await limiter.peek('loginEmail', 'email:a')).toEqual({
      allowed: false,
      retryAfterSeconds: 15,
    });
    clock += 15_000;
    expect((await limiter.peek('loginEmail', 'email:a')).allowed).toBe(true);
  });

  it("forgets a caller's count and block on reset, and no one else's", async () => {
    for (let i = 0; i < 4; i += 1) await limiter.hit('loginEmail', 'email:a');
    for (let i = 0; i < 4; i += 1) await limiter.hit('loginEmail', 'email:b');
    await limiter.reset('loginEmail', 'email:a');
    expect((await limiter.hit('loginEmail', 'email:a')).allowed).toBe(true);
    expect((await limiter.hit('loginEmail', 'email:b')).allowed).toBe(false);
  });
});
