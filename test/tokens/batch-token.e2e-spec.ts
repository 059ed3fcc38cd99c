import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import type { RedisStore } from '../../src/infra/redis/redis-store';
import { BatchTokenOperations, MAX_BATCH } from '../../src/tokens/batch-token.service';
import { JwtCodec } from '../../src/tokens/jwt-codec.service';
import { SessionTokenManager } from '../../src/tokens/session-token.service';
import { TokenMonitoring } from '../../src/tokens/token-monitoring.service';
import { describeForEachDriver, type TestStore } from '../support/store-drivers';

let nextUserId = 2_000_000 + Math.floor(Math.random() * 1_000_000);

describeForEachDriver('Batch token operations and monitoring', (makeStore) => {
  let dataDir: string;
  let t: TestStore;
  let store: RedisStore;
  let sessions: SessionTokenManager;
  let batch: BatchTokenOperations;
  let monitoring: TokenMonitoring;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-batch-'));
    t = makeStore();
    store = t.store;
    const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' });
    const codec = new JwtCodec(config);
    sessions = new SessionTokenManager(store, codec, config);
    batch = new BatchTokenOperations(store, codec);
    monitoring = new TokenMonitoring(store);
  });
  afterEach(async () => {
    await t.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('validates many tokens in input order, live or not', async () => {
    const userId = nextUserId++;
    const live = await sessions.createSession(userId, { username: 'ann' });
    const revoked = await sessions.createSession(userId, { username: 'ann' });
    await sessions.revokeSessionToken(revoked);
    const results = await batch.validateTokens([revoked, 'garbage', live, 42]);
    expect(results.map((r) => r?.user_id ?? null)).toEqual([null, null, userId, null]);
  });

  it('refuses batches over the limit', async () => {
    await expect(batch.validateTokens(new Array(MAX_BATCH + 1).fill('x'))).rejects.toThrow(
      RangeError,
    );
  });

  it('revokes many at once, counting only live ones', async () => {
    const userId = nextUserId++;
    const tokens = await Promise.all(
      [1, 2, 3].map(() => sessions.createSession(userId, { username: 'ann' })),
    );
    expect(await batch.revokeTokens([...tokens, tokens[0], 'garbage'])).toBe(3);
    expect(await sessions.listSessions(userId)).toEqual([]);
    expect(await batch.revokeTokens(tokens)).toBe(0);
  });

  it('cleans set members whose session expired, leaving live ones', async () => {
    const users = [nextUserId++, nextUserId++];
    const kept = await sessions.createSession(users[0], { username: 'ann' });
    const keptJti = (await sessions.verifySession(kept))!.jti;
    for (const userId of users) {
      for (const jti of ['gone-1', 'gone-2']) await store.sadd(`user_sessions:${userId}`, jti);
    }
    expect(await batch.cleanupExpiredSessions(1)).toBe(4);
    expect(await store.smembers(`user_sessions:${users[0]}`)).toEqual([keptJti]);
    expect(await store.exists(`user_sessions:${users[1]}`)).toBe(false);
  });

  it('counts active tokens by type and passes its health probe', async () => {
    const before = await monitoring.activeTokens();
    await sessions.createSession(nextUserId++, { username: 'ann' });
    await sessions.createSession(nextUserId++, { username: 'bob' });
    const after = await monitoring.activeTokens();
    expect(after.session - before.session).toBe(2);
    expect(after.sse_ticket).toBe(before.sse_ticket);
    expect(await monitoring.healthCheck()).toBe(true);
    const memory = await monitoring.memory();
    expect(memory.usedBytes).toBeGreaterThan(0);
    expect(memory.peakBytes).toBeGreaterThanOrEqual(memory.usedBytes);
    const unreachable = makeStore();
    await unreachable.cleanup();
    expect(await new TokenMonitoring(unreachable.store).healthCheck()).toBe(false);
  });
});
