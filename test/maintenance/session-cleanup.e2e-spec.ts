import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { SessionCleanupScheduler } from '../../src/maintenance/session-cleanup.scheduler';
import {
  SessionTokenManager,
  sessionKey,
  userSessionsKey,
} from '../../src/tokens/session-token.service';
import { registerAuthor } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';

/** docs/RELIABILITY.md, "Scheduled cleanup". */
describe('scheduled session cleanup', () => {
  let t: TestApp;
  let store: RedisStore;
  let sessions: SessionTokenManager;
  let cleanup: SessionCleanupScheduler;

  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get<RedisStore>(REDIS_STORE);
    sessions = t.app.get(SessionTokenManager);
    cleanup = t.app.get(SessionCleanupScheduler);
  });
  afterAll(() => t.close());
  // Each test takes its own turn: the lock of a run lasts almost a whole interval.
  beforeEach(() => store.del('session_cleanup:lock'));

  const jtiOf = async (token: string) => (await sessions.verifySession(token))!.jti;

  it("gives a user's session list a TTL no shorter than their newest session", async () => {
    const author = await registerAuthor(t);
    const listTtl = await store.pttl(userSessionsKey(author.authorId));
    const [jti] = await store.smembers(userSessionsKey(author.authorId));
    const sessionTtl = await store.pttl(sessionKey(author.authorId, jti));
    expect(listTtl).toBeGreaterThan(0);
    expect(listTtl).toBeGreaterThanOrEqual(sessionTtl - 1_000);
    expect(listTtl).toBeLessThanOrEqual(t.config.jwt.expirationHours * 3_600_000);
  });

  it('removes the ids of expired sessions from the lists, keeps the live ones, and counts it in /metrics', async () => {
    const author = await registerAuthor(t);
    const live = await sessions.createSession(author.authorId, { username: 'cleanup' });
    const expired = await sessions.createSession(author.authorId, { username: 'cleanup' });
    const [liveJti, expiredJti] = [await jtiOf(live), await jtiOf(expired)];
    // What Redis does when a session's TTL runs out: the entry goes, its id stays in the list.
    await store.del(sessionKey(author.authorId, expiredJti));

    const run = await cleanup.runOnce();

    expect(run.outcome).toBe('ran');
    expect(run.removed).toBeGreaterThanOrEqual(1);
    const left = await store.smembers(userSessionsKey(author.authorId));
    expect(left).toContain(liveJti);
    expect(left).not.toContain(expiredJti);
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^tessera_session_cleanup_runs_total\{outcome="ran"\} [1-9]/m);
    expect(metrics).toMatch(/^tessera_session_cleanup_removed_total [1-9]/m);
    expect(metrics).toMatch(/^tessera_session_cleanup_last_run_timestamp_seconds [1-9]/m);
  });

  it('runs on one instance at a time: of two turns at once, one runs and the other skips', async () => {
    const outcomes = await Promise.all([cleanup.runOnce(), cleanup.runOnce()]);
    expect(outcomes.map((run) => run.outcome).sort()).toEqual(['ran', 'skipped']);
    // The turn lasts: a third within the interval skips too.
    expect((await cleanup.runOnce()).outcome).toBe('skipped');
  });
});
