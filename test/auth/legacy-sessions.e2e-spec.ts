import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { jtiOfOriginalToken } from '../../src/auth/legacy-sessions.service';
import { registerAuthor, type SignedIn } from '../support/auth';
import { allKeys, originalToken, writeOriginalSession } from '../support/original-service';
import { closeAllStreams, openRawStream } from '../support/sse-client';
import { startTestApp, type TestApp } from '../support/test-app';

// Issue #16, the cut-over (docs/CUT-OVER.md): with LEGACY_SESSIONS=migrate, a token of the original
// service is accepted only with a valid signature and an entry of the original (either layout); its
// first use moves the entry into this service's layout, deletes the original's keys, and hands the
// client a token of this service; from then on it is an ordinary session. With the opt-in off, a
// token without `jti` is refused.

const SECRET = `cut-over-${randomBytes(16).toString('hex')}`;
const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);

/** A session of the original service for `author`, written in `layout`; returns its token. */
async function seed(
  t: TestApp,
  author: SignedIn,
  layout: 'current' | 'older',
  overrides: { ttlSeconds?: number; createdAt?: number } = {},
) {
  const username = String(author.body.author.name);
  const token = originalToken(SECRET, { user_id: author.authorId, username });
  const session = {
    userId: author.authorId,
    username,
    token,
    createdAt: overrides.createdAt ?? now() - 5 * 86_400,
    lastActivity: now() - HOUR,
    ttlSeconds: overrides.ttlSeconds ?? 10 * 86_400,
  };
  const key = await writeOriginalSession(t.app.get<RedisStore>(REDIS_STORE), layout, session);
  return { token, key, session };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('original sessions with LEGACY_SESSIONS=migrate', () => {
  let t: TestApp;
  let store: RedisStore;

  beforeAll(async () => {
    t = await startTestApp({ LEGACY_SESSIONS: 'migrate', JWT_SECRET: SECRET });
    store = t.app.get<RedisStore>(REDIS_STORE);
  });
  afterAll(() => t.close());
  afterEach(closeAllStreams);

  it('migrates a current-layout bearer session on first use and leaves no raw token in a key', async () => {
    const author = await registerAuthor(t);
    const { token, key, session } = await seed(t, author, 'current');
    const ttlBefore = await store.pttl(key);

    const first = await t.http().get('/auth/profile').set(bearer(token)).expect(200);
    expect(first.body.id).toBe(author.authorId);
    const issued = first.headers['x-session-token'] as string;
    expect(issued).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(issued).not.toBe(token);

    // The original's keys and list member are gone; no key holds the raw token.
    expect(await store.exists(key)).toBe(false);
    expect(await store.smembers(`user_sessions:${author.authorId}`)).not.toContain(token);
    const keys = await allKeys(store);
    expect(keys.filter((k) => k.includes(token) || k.includes(token.split('.')[2]))).toEqual([]);

    // An ordinary session now: its id derives from the token, its times and lifetime are kept.
    const jti = jtiOfOriginalToken(token);
    const migratedTtl = await store.pttl(`session:${author.authorId}:${jti}`);
    expect(Math.abs(migratedTtl - ttlBefore)).toBeLessThan(60_000);
    const listed = await t.http().get('/auth/sessions').set(bearer(issued)).expect(200);
    const migrated = (listed.body as { id: string }[]).filter((entry) => entry.id === jti);
    expect(migrated).toEqual([
      expect.objectContaining({
        id: jti,
        created_at: session.createdAt,
        ip: '203.0.113.7',
        user_agent: 'OriginalApp/1.0',
        current: true,
      }),
    ]);
    // Used since: its activity moved on from the original's.
    expect((migrated[0] as unknown as { last_active: number }).last_active).toBeGreaterThanOrEqual(
      session.lastActivity,
    );

    // Refreshed (rotation) like any other, then revoked: the new token and the original stop.
    const refreshed = await t.http().post('/auth/refresh').set(bearer(issued)).send({}).expect(200);
    const rotated = refreshed.body.token as string;
    await t.http().get('/auth/profile').set(bearer(issued)).expect(401);
    await t.http().post('/auth/logout').set(bearer(rotated)).expect(204);
    await t.http().get('/auth/profile').set(bearer(rotated)).expect(401);
    await t.http().get('/auth/profile').set(bearer(token)).expect(401);
  });

  it('migrates an older-layout cookie session: a new cookie, the old key gone, the stream closes on revoke', async () => {
    const author = await registerAuthor(t);
    const { token, key } = await seed(t, author, 'older');
    const cookieName = t.config.cookie.name;

    const res = await t
      .http()
      .get('/auth/profile')
      .set('Cookie', `${cookieName}=${token}`)
      .expect(200);
    const setCookie = (res.headers['set-cookie'] as unknown as string[]).find((line) =>
      line.startsWith(`${cookieName}=`),
    );
    const issued = setCookie!.split(';')[0].slice(cookieName.length + 1);
    expect(issued).not.toBe(token);
    expect(res.headers['x-session-token']).toBeUndefined();
    expect(await store.exists(key)).toBe(false);

    // Used again, the original token names the migrated session: no second session appears.
    await t.http().get('/auth/profile').set('Cookie', `${cookieName}=${token}`).expect(200);
    const sessions = await t.http().get('/auth/sessions').set(bearer(issued)).expect(200);
    const ids = (sessions.body as { id: string }[]).map((entry) => entry.id);
    expect(ids.filter((id) => id === jtiOfOriginalToken(token))).toHaveLength(1);
    expect(ids).toHaveLength(2);

    const stream = await openRawStream(new URL('/sse/notifications', t.baseUrl), {
      bearer: issued,
    });
    expect(stream.status).toBe(200);
    await stream.untilMessage((m) => m.type === 'connected', 'connected');
    await t.http().post('/auth/logout').set(bearer(issued)).expect(204);
    await stream.untilMessage((m) => m.type === 'session_revoked', 'session_revoked');
  });

  it('refuses a token whose original entry does not exist, or whose signature is not the secret’s', async () => {
    const author = await registerAuthor(t);
    const username = String(author.body.author.name);
    const noEntry = originalToken(SECRET, { user_id: author.authorId, username });
    await t.http().get('/auth/profile').set(bearer(noEntry)).expect(401);

    // A forged token with an entry written for it: the signature decides.
    const forged = originalToken('not-the-secret', { user_id: author.authorId, username });
    const key = await writeOriginalSession(store, 'current', {
      userId: author.authorId,
      username,
      token: forged,
      createdAt: now(),
      lastActivity: now(),
      ttlSeconds: HOUR,
    });
    await t.http().get('/auth/profile').set(bearer(forged)).expect(401);
    expect(await store.exists(key)).toBe(true);

    // Another user's entry does not vouch for a token naming someone else.
    const victim = await registerAuthor(t);
    const authors = await seed(t, author, 'current');
    const otherUser = originalToken(SECRET, { user_id: victim.authorId, username });
    await t.http().get('/auth/profile').set(bearer(otherUser)).expect(401);
    expect(await store.exists(authors.key)).toBe(true);
  });

  it('refuses an expired original token and one whose author is gone or banned, without a 500', async () => {
    const author = await registerAuthor(t);
    const username = String(author.body.author.name);
    const expired = originalToken(SECRET, {
      user_id: author.authorId,
      username,
      iat: now() - 2 * HOUR,
      exp: now() - HOUR,
    });
    await writeOriginalSession(store, 'current', {
      userId: author.authorId,
      username,
      token: expired,
      createdAt: now() - 2 * HOUR,
      lastActivity: now() - 2 * HOUR,
      ttlSeconds: HOUR,
    });
    await t.http().get('/auth/profile').set(bearer(expired)).expect(401);

    const ghostId = 2_000_000_000;
    const ghost = originalToken(SECRET, { user_id: ghostId, username: 'ghost' });
    const ghostKey = await writeOriginalSession(store, 'current', {
      userId: ghostId,
      username: 'ghost',
      token: ghost,
      createdAt: now(),
      lastActivity: now(),
      ttlSeconds: HOUR,
    });
    await t.http().get('/auth/profile').set(bearer(ghost)).expect(401);
    expect(await store.exists(ghostKey)).toBe(true);

    // A banned author's session is refused and left unmigrated.
    const banned = await registerAuthor(t);
    const bannedSession = await seed(t, banned, 'current');
    await t.app
      .get(DataSource)
      .query('UPDATE author SET banned_at = $1 WHERE id = $2', [now(), banned.authorId]);
    await t.http().get('/auth/profile').set(bearer(bannedSession.token)).expect(401);
    expect(await store.exists(bannedSession.key)).toBe(true);

    // Garbage where a token goes: still a plain 401.
    await t.http().get('/auth/profile').set(bearer('eyJ.not-a.token')).expect(401);
  });

  it('removes the sessions not yet migrated when all of a user’s sessions are revoked', async () => {
    const author = await registerAuthor(t);
    const current = await seed(t, author, 'current');
    const older = await seed(t, author, 'older');
    await t.http().delete('/auth/sessions').set(bearer(author.token!)).expect(204);
    expect(await store.exists(current.key)).toBe(false);
    expect(await store.exists(older.key)).toBe(false);
    expect(await store.smembers(`user_sessions:${author.authorId}`)).not.toContain(current.token);
    await t.http().get('/auth/profile').set(bearer(current.token)).expect(401);
    await t.http().get('/auth/profile').set(bearer(older.token)).expect(401);
    // The caller's own session was kept, as `DELETE /auth/sessions` promises.
    await t.http().get('/auth/profile').set(bearer(author.token!)).expect(200);
  });
});

describe('original sessions with LEGACY_SESSIONS off (the default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ JWT_SECRET: SECRET });
  });
  afterAll(() => t.close());

  it('refuses a token without jti even with its original entry in place, and touches nothing', async () => {
    const author = await registerAuthor(t);
    const { token, key } = await seed(t, author, 'current');
    const res = await t.http().get('/auth/profile').set(bearer(token)).expect(401);
    expect(res.headers['x-session-token']).toBeUndefined();
    expect(await t.app.get<RedisStore>(REDIS_STORE).exists(key)).toBe(true);
  });
});
