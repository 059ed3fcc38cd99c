import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RawEnvironment } from '../../src/config/load-config';
import type { RedisStore } from '../../src/infra/redis/redis-store';
import { JwtCodec } from '../../src/tokens/jwt-codec.service';
import {
  SESSION_REVOKED_CHANNEL,
  type SessionReuse,
  SessionTokenManager,
  TOUCH_INTERVAL_SECONDS,
} from '../../src/tokens/session-token.service';
import { describeForEachDriver, dumpStore, type TestStore } from '../support/store-drivers';
import { waitFor } from '../support/wait-for';

let nextUserId = 1000 + Math.floor(Math.random() * 1_000_000);
const newUserId = () => nextUserId++;
const device = { ip: '203.0.113.7', userAgent: 'jest' };

/** What a manager tells its reuse listeners, in order. */
function listen(sessions: SessionTokenManager): SessionReuse[] {
  const reuses: SessionReuse[] = [];
  sessions.onReuseDetected((reuse) => void reuses.push(reuse));
  return reuses;
}

describeForEachDriver('SessionTokenManager', (makeStore) => {
  let dataDir: string;
  let t: TestStore;
  let store: RedisStore;

  const manager = (env: RawEnvironment = {}) => {
    const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', ...env });
    return new SessionTokenManager(store, new JwtCodec(config), config);
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-sessions-'));
    t = makeStore();
    store = t.store;
  });
  afterEach(async () => {
    await t.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a session that verifies, with its device details', async () => {
    const sessions = manager();
    const userId = newUserId();
    const token = await sessions.createSession(userId, { username: 'ann', deviceInfo: device });
    const session = await sessions.verifySession(token);
    expect(session).toMatchObject({
      userId,
      username: 'ann',
      ip: device.ip,
      userAgent: device.userAgent,
    });
    expect(session?.expiresAt).toBe(session?.claims.exp);
    expect(await sessions.listSessions(userId)).toHaveLength(1);
  });

  it('refuses a valid JWT whose Redis entry is gone, and tokens of another secret', async () => {
    const sessions = manager();
    const userId = newUserId();
    const token = await sessions.createSession(userId, { username: 'ann' });
    expect(await sessions.revokeSessionToken(token)).toBe(true);
    expect(await sessions.verifySession(token)).toBeNull();
    expect(await sessions.revokeSessionToken(token)).toBe(false);

    const other = loadConfig({
      DATA_DIR: dataDir,
      JWT_SECRET: 'another-secret-of-enough-length-0123',
    });
    const forged = new JwtCodec(other).sign({ user_id: userId, username: 'ann', jti: 'x' });
    expect(await sessions.verifySession(forged)).toBeNull();
  });

  it('announces every revocation on session:revoked', async () => {
    const sessions = manager();
    const userId = newUserId();
    const received: unknown[] = [];
    const subscription = await store.subscribe(SESSION_REVOKED_CHANNEL, (message) =>
      received.push(JSON.parse(message)),
    );
    try {
      const token = await sessions.createSession(userId, { username: 'ann' });
      const { jti } = (await sessions.verifySession(token))!;
      await sessions.revokeSessionToken(token);
      await waitFor(() => received.length === 1, { message: 'the revocation message' });
      expect(received).toEqual([{ user_id: userId, jti }]);
    } finally {
      await subscription.unsubscribe();
    }
  });

  it('revokes all sessions of a user, with or without the current one', async () => {
    const sessions = manager();
    const userId = newUserId();
    const bystander = newUserId();
    const tokens = await Promise.all(
      [1, 2, 3].map(() => sessions.createSession(userId, { username: 'ann' })),
    );
    const otherToken = await sessions.createSession(bystander, { username: 'bob' });
    const current = (await sessions.verifySession(tokens[0]))!;

    expect(await sessions.revokeUserSessions(userId, { except: current.jti })).toBe(2);
    expect(await sessions.verifySession(tokens[0])).not.toBeNull();
    expect(await sessions.verifySession(tokens[1])).toBeNull();
    expect(await sessions.verifySession(tokens[2])).toBeNull();

    expect(await sessions.revokeUserSessions(userId)).toBe(1);
    expect(await sessions.verifySession(tokens[0])).toBeNull();
    expect(await sessions.listSessions(userId)).toEqual([]);
    expect(await sessions.verifySession(otherToken)).not.toBeNull();
  });

  it('rotates on refresh: the old token dies, and of two concurrent refreshes one wins', async () => {
    const sessions = manager();
    const reuses = listen(sessions);
    const userId = newUserId();
    const token = await sessions.createSession(userId, { username: 'ann', deviceInfo: device });
    const results = await Promise.all([
      sessions.refreshSession(userId, token),
      sessions.refreshSession(userId, token),
    ]);
    const winners = results.filter((r): r is string => r !== null);
    expect(winners).toHaveLength(1);
    // Both found the session live: the loser is not a reuse, and the winner's session stands.
    expect(await sessions.verifySession(winners[0])).toMatchObject({ userId, ip: device.ip });
    expect(await sessions.listSessions(userId)).toHaveLength(1);
    expect(await sessions.refreshSession(newUserId(), winners[0])).toBeNull();
    expect(await sessions.verifySession(winners[0])).not.toBeNull();
    expect(reuses).toEqual([]);
  });

  it('detects reuse: a rotated-away token revokes its successor, announced, and tells listeners once', async () => {
    const sessions = manager();
    const reuses = listen(sessions);
    const userId = newUserId();
    const received: unknown[] = [];
    const subscription = await store.subscribe(SESSION_REVOKED_CHANNEL, (message) =>
      received.push(JSON.parse(message)),
    );
    try {
      const a = await sessions.createSession(userId, { username: 'ann' });
      const aJti = (await sessions.verifySession(a))!.jti;
      const b = (await sessions.refreshSession(userId, a))!;
      const bJti = (await sessions.verifySession(b))!.jti;
      await waitFor(() => received.length === 1, { message: 'the rotation announced' });

      expect(await sessions.verifySession(a, device)).toBeNull();
      expect(await sessions.verifySession(b)).toBeNull();
      expect(await sessions.listSessions(userId)).toEqual([]);
      await waitFor(() => received.length === 2, { message: 'the successor revocation announced' });
      expect(received).toEqual([
        { user_id: userId, jti: aJti },
        { user_id: userId, jti: bJti },
      ]);
      await waitFor(() => reuses.length === 1, { message: 'the listener called' });
      expect(reuses).toEqual([{ userId, sessionId: aJti, revoked: [bJti], client: device }]);

      // The same replay again finds nothing left to revoke, and is not reported twice.
      expect(await sessions.verifySession(a)).toBeNull();
      expect(await sessions.refreshSession(userId, a)).toBeNull();
      expect(reuses).toHaveLength(1);
    } finally {
      await subscription.unsubscribe();
    }
  });

  it('revokes the whole chain after it: replaying A of A→B→C ends C', async () => {
    const sessions = manager();
    const reuses = listen(sessions);
    const userId = newUserId();
    const a = await sessions.createSession(userId, { username: 'ann' });
    const b = (await sessions.refreshSession(userId, a))!;
    const c = (await sessions.refreshSession(userId, b))!;
    const cJti = (await sessions.verifySession(c))!.jti;
    const elsewhere = await sessions.createSession(userId, { username: 'ann' });

    expect(await sessions.verifySession(a)).toBeNull();
    expect(await sessions.verifySession(c)).toBeNull();
    // Another sign-in of the same user is another chain, and stays.
    expect(await sessions.verifySession(elsewhere)).not.toBeNull();
    await waitFor(() => reuses.length === 1, { message: 'the listener called' });
    expect(reuses[0]).toMatchObject({ revoked: [cJti] });
  });

  it('leaves a chain used as intended alone: A→B→C, and C keeps working', async () => {
    const sessions = manager();
    const reuses = listen(sessions);
    const userId = newUserId();
    const a = await sessions.createSession(userId, { username: 'ann' });
    const b = (await sessions.refreshSession(userId, a))!;
    const c = (await sessions.refreshSession(userId, b))!;
    for (let i = 0; i < 3; i++) expect(await sessions.verifySession(c)).not.toBeNull();
    expect(await sessions.listSessions(userId)).toHaveLength(1);
    // A token that was revoked, not rotated, is only refused.
    const signedOut = await sessions.createSession(userId, { username: 'ann' });
    await sessions.revokeSessionToken(signedOut);
    expect(await sessions.verifySession(signedOut)).toBeNull();
    expect(await sessions.verifySession(c)).not.toBeNull();
    expect(reuses).toEqual([]);
  });

  it('leaves no live successor when a replay races a rotation of the chain', async () => {
    const sessions = manager();
    const userId = newUserId();
    for (let round = 0; round < 10; round++) {
      const a = await sessions.createSession(userId, { username: 'ann' });
      const b = (await sessions.refreshSession(userId, a))!;
      const [, c] = await Promise.all([
        sessions.verifySession(a),
        sessions.refreshSession(userId, b),
      ]);
      if (c !== null) expect(await sessions.verifySession(c)).toBeNull();
      expect(await sessions.verifySession(b)).toBeNull();
    }
    expect(await sessions.listSessions(userId)).toEqual([]);
  });

  it('keeps the successor record no longer than the old token would have lived', async () => {
    const sessions = manager({ JWT_EXPIRATION_HOURS: '2' });
    const userId = newUserId();
    const a = await sessions.createSession(userId, { username: 'ann' });
    const aJti = (await sessions.verifySession(a))!.jti;
    await sessions.refreshSession(userId, a);
    const ttl = await store.pttl(`session_successor:${userId}:${aJti}`);
    expect(ttl).toBeGreaterThan(2 * 3600 * 1000 - 5_000);
    expect(ttl).toBeLessThanOrEqual(2 * 3600 * 1000);
  });

  it('expires with the token lifetime', async () => {
    const sessions = manager();
    const userId = newUserId();
    const token = await sessions.createSession(userId, { username: 'ann' });
    const { jti } = (await sessions.verifySession(token))!;
    // A session key's TTL is the JWT's lifetime; shorten it to watch Redis drop the entry.
    await store.pexpire(`session:${userId}:${jti}`, 100);
    await waitFor(async () => (await sessions.verifySession(token)) === null, {
      message: 'the session to expire',
    });
    expect(await sessions.listSessions(userId)).toEqual([]);
    expect(await store.smembers(`user_sessions:${userId}`)).toEqual([]);
  });

  it('slides: a token past half its life is renewed with the same jti and a longer TTL', async () => {
    const sessions = manager();
    const userId = newUserId();
    const fresh = await sessions.createSession(userId, { username: 'ann' });
    const freshSession = (await sessions.verifySession(fresh))!;
    expect(await sessions.slideSession(freshSession)).toBeNull();

    const codec = new JwtCodec(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' }));
    const lifetime = 720 * 3600;
    const old = codec.sign(
      { user_id: userId, username: 'ann', jti: freshSession.jti },
      { issuedAt: Math.floor(Date.now() / 1000) - lifetime * 0.6, expiresInSeconds: lifetime },
    );
    const key = `session:${userId}:${freshSession.jti}`;
    await store.pexpire(key, lifetime * 0.4 * 1000);
    const renewed = await sessions.slideSession((await sessions.verifySession(old))!);
    expect(renewed).not.toBeNull();
    const slid = (await sessions.verifySession(renewed))!;
    expect(slid.jti).toBe(freshSession.jti);
    expect(slid.claims.exp).toBeGreaterThan(lifetime * 0.9 + Date.now() / 1000);
    expect(await store.pttl(key)).toBeGreaterThan(lifetime * 0.9 * 1000);
  });

  it('writes last_active at most once per interval', async () => {
    const sessions = manager();
    const userId = newUserId();
    const token = await sessions.createSession(userId, { username: 'ann' });
    const { jti, lastActive } = (await sessions.verifySession(token))!;
    const key = `session:${userId}:${jti}`;
    await sessions.verifySession(token);
    expect(await store.hget(key, 'last_active')).toBe(String(lastActive));

    const stale = lastActive - TOUCH_INTERVAL_SECONDS;
    await store.hset(key, { last_active: String(stale) });
    await sessions.verifySession(token);
    await waitFor(async () => Number(await store.hget(key, 'last_active')) >= lastActive, {
      message: 'last_active to be touched',
    });
  });

  it('keeps no raw token in any key or value', async () => {
    const sessions = manager();
    const userId = newUserId();
    const tokens = await Promise.all(
      [1, 2].map(() => sessions.createSession(userId, { username: 'ann' })),
    );
    // A rotation leaves a successor record; it names sessions, never tokens.
    tokens.push((await sessions.refreshSession(userId, tokens[1]))!);
    const dump = [...(await dumpStore(store))].map(([key, value]) => `${key} ${value}`).join('\n');
    expect(dump).toContain(`user_sessions:${userId}`);
    expect(dump).toContain(`session_successor:${userId}:`);
    for (const token of tokens) {
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(token.split('.')[2]);
    }
  });
});
