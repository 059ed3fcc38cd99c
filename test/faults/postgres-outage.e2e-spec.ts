import { newRegistration } from '../support/auth';
import {
  fetchProfile,
  holdFault,
  registerAuthors,
  RequestFlow,
  untilRecovered,
  useFaultStack,
} from './support/fault-stack';
import { reportRow } from './support/fault-report';

// Fault row 3 (docs/RELIABILITY.md, "Fault table"): Postgres stops for 5 s while requests flow,
// sign-ups among them. Routes that need it answer 503, the rest keep working, nothing answers 500
// or crashes; it recovers by itself, and nothing is left half-written: every author has their
// role, every session in Redis belongs to an author, every sign-up answered 201 can sign in.

const OUTAGE_MS = 5_000;

describe('fault row 3: Postgres stopped for 5 s', () => {
  const row = useFaultStack();

  it('answers 503 where Postgres is needed, recovers by itself and leaves nothing half-written', async () => {
    const { stack, app } = row;
    const [reader] = await registerAuthors(app, 1);
    const signUps: { email: string; password: string; status: number }[] = [];
    const flow = new RequestFlow(
      [
        {
          name: 'profile',
          send: () => fetchProfile(app, reader),
        },
        { name: 'jwks', send: () => fetch(`${app.url}/.well-known/jwks.json`) },
        { name: 'health', send: () => fetch(`${app.url}/health`) },
        {
          name: 'register',
          send: async () => {
            const registration = newRegistration();
            const res = await fetch(`${app.url}/auth/register`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ ...registration, mode: 'bearer' }),
            });
            signUps.push({ ...registration, status: res.status });
            return res;
          },
        },
      ],
      20,
    );

    await stack.postgres.stop();
    const stoppedAt = Date.now();
    const health = await fetch(`${app.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'error', db: 'down', redis: 'up' });
    const profile = await fetchProfile(app, reader);
    expect(profile.status).toBe(503);
    expect(await profile.json()).toMatchObject({
      message: 'The database is unavailable; try again shortly',
    });
    await holdFault(OUTAGE_MS - (Date.now() - stoppedAt));
    await stack.postgres.resume();
    const resumedAt = Date.now();

    const recoveryMs = await untilRecovered(app, reader, resumedAt);
    await flow.stop();

    // Nothing half-written: no author without a role, no session without its author.
    const roleless = await stack.postgres.query(
      `SELECT a.id FROM author a LEFT JOIN author_role r ON r.author_id = a.id WHERE r.author_id IS NULL`,
    );
    expect(roleless).toEqual([]);
    const authorIds = new Set(
      (await stack.postgres.query<{ id: number }>('SELECT id FROM author')).map((row) => row.id),
    );
    const redis = stack.redis.client();
    const sessionOwners: number[] = [];
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', 'session:*', 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const owner = await redis.hget(key, 'user_id');
          if (owner !== null) sessionOwners.push(Number(owner));
        }
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    const orphanSessions = sessionOwners.filter((id) => !authorIds.has(id));
    expect(orphanSessions).toEqual([]);

    // Each sign-up answered 201 is whole: its author can sign in.
    const created = signUps.filter((signUp) => signUp.status === 201);
    for (const signUp of created) {
      const login = await fetch(`${app.url}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: signUp.email, password: signUp.password, mode: 'bearer' }),
      });
      expect(login.status).toBe(200);
    }

    reportRow('3 Postgres stopped 5 s', {
      recoveryMs,
      slowest503Ms: flow.slowest(503),
      signUps: signUps.length,
      signUpsCreated: created.length,
      authorsWithoutRole: roleless.length,
      sessionsWithoutAuthor: orphanSessions.length,
      statuses: flow.summary(),
    });
    expect(flow.total(503, 'register')).toBeGreaterThan(0);
    expect(flow.total(503, 'profile')).toBeGreaterThan(0);
    expect(flow.serverErrors()).toBe(0);
    expect(flow.total(0)).toBe(0);
    expect(flow.total(200, 'jwks')).toBe(
      Object.entries(flow.summary())
        .filter(([key]) => key.startsWith('jwks '))
        .reduce((sum, [, count]) => sum + count, 0),
    );
    expect(app.running).toBe(true);
  });
});
