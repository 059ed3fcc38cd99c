import { randomBytes } from 'node:crypto';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { registerAuthor, type SignedIn } from '../support/auth';
import { environmentOf, runCli } from '../support/cli';
import { allKeys, originalToken, type OriginalSession } from '../support/original-service';
import { describeWith } from '../support/real-services';
import { startTestApp, type TestApp } from '../support/test-app';

// Issue #16, `npm run cli -- migrate-legacy-sessions [--dry-run]` (docs/CUT-OVER.md) on 10,000
// sessions written the way the original service writes them, plus bad entries: a dry run changes
// nothing, a run migrates every good one and skips and counts the bad ones, a second run migrates
// nothing. The CLI is its own process, so it needs the shared Postgres and Redis.

const SECRET = `cli-cut-over-${randomBytes(16).toString('hex')}`;
const AUTHORS = 100;
const SESSIONS_PER_AUTHOR = 100;
const now = () => Math.floor(Date.now() / 1000);

/** Writes sessions as the original does, in one pipeline per chunk (both layouts, half each). */
async function writeMany(store: RedisStore, sessions: (OriginalSession & { older: boolean })[]) {
  for (let i = 0; i < sessions.length; i += 500) {
    const batch = store.pipeline();
    for (const session of sessions.slice(i, i + 500)) {
      const key = session.older
        ? `${session.userId}-${session.username}-${session.token}`
        : `session:${session.userId}:${session.token}`;
      batch
        .hset(key, {
          user_id: String(session.userId),
          username: session.username,
          created_at: String(session.createdAt),
          last_activity: String(session.lastActivity),
        })
        .pexpire(key, session.ttlSeconds * 1000);
      if (!session.older) batch.sadd(`user_sessions:${session.userId}`, session.token);
    }
    await batch.exec();
  }
}

/** The result line and the progress lines of a run; fails on a non-zero exit. */
async function migrate(t: TestApp, ...args: string[]) {
  const run = await runCli(
    ['migrate-legacy-sessions', ...args],
    environmentOf(t, { LEGACY_SESSIONS: 'migrate', JWT_SECRET: SECRET }),
  );
  expect({ code: run.code, stderrEmptyOrProgress: /^(… .*\n)*$/.test(run.stderr) }).toEqual({
    code: 0,
    stderrEmptyOrProgress: true,
  });
  process.stdout.write(`\n${run.stdout}`);
  const result = run.stdout.trimEnd().split('\n').at(-1)!;
  const count = (label: string) => Number(new RegExp(`${label} (\\d+)`).exec(result)?.[1]);
  return {
    result,
    progressLines: run.stderr.split('\n').filter(Boolean).length,
    output: run.stdout + run.stderr,
    counts: {
      migrated: count('migrated'),
      alreadyMigrated: count('already migrated'),
      expired: count('expired'),
      malformed: count('malformed'),
      userMissing: count('user missing'),
    },
  };
}

describeWith(
  { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL },
  'npm run cli -- migrate-legacy-sessions on 10,000 original sessions',
  () => {
    let t: TestApp;
    let store: RedisStore;
    let authors: SignedIn[];
    const tokens: string[] = [];

    beforeAll(async () => {
      t = await startTestApp({ LEGACY_SESSIONS: 'migrate', JWT_SECRET: SECRET });
      store = t.app.get<RedisStore>(REDIS_STORE);
      authors = [];
      for (let i = 0; i < AUTHORS; i += 10) {
        authors.push(...(await Promise.all(Array.from({ length: 10 }, () => registerAuthor(t)))));
      }
      const sessions = authors.flatMap((author, a) =>
        Array.from({ length: SESSIONS_PER_AUTHOR }, (_, s) => {
          const username = String(author.body.author.name);
          // iat varies, so every token (and so every key) differs.
          const token = originalToken(SECRET, {
            user_id: author.authorId,
            username,
            iat: now() - a * SESSIONS_PER_AUTHOR - s,
          });
          tokens.push(token);
          return {
            userId: author.authorId,
            username,
            token,
            createdAt: now() - 86_400,
            lastActivity: now() - 3600,
            ttlSeconds: 7 * 86_400,
            older: s % 2 === 1,
          };
        }),
      );
      const someone = authors[0];
      const username = String(someone.body.author.name);
      const bad = [
        // Malformed: not a JWT of the secret, a key naming another user than its token, and an
        // older-layout key whose username is not the token's.
        {
          ...sessions[0],
          token: originalToken('another-secret', { user_id: someone.authorId, username }),
          older: false,
        },
        {
          ...sessions[0],
          userId: authors[1].authorId,
          token: originalToken(SECRET, { user_id: someone.authorId, username, iat: 1 }),
          older: false,
        },
        {
          ...sessions[0],
          username: 'someone-else',
          token: originalToken(SECRET, { user_id: someone.authorId, username, iat: 2 }),
          older: true,
        },
        // Expired tokens whose entries are still there.
        ...[1, 2].map((n) => ({
          ...sessions[0],
          token: originalToken(SECRET, {
            user_id: someone.authorId,
            username,
            iat: now() - 7200 - n,
            exp: now() - 3600,
          }),
        })),
        // Users that no longer exist (or never did).
        ...[1, 2, 3].map((n) => ({
          ...sessions[0],
          userId: 1_900_000_000 + n,
          username: 'gone',
          token: originalToken(SECRET, { user_id: 1_900_000_000 + n, username: 'gone' }),
        })),
      ];
      await writeMany(store, [...sessions, ...bad]);
    }, 180_000);

    afterAll(() => t?.close());

    it('counts, changes nothing in a dry run, migrates once, skips and counts the bad entries', async () => {
      const keysBefore = (await allKeys(store)).sort();
      const dry = await migrate(t, '--dry-run');
      expect(dry.counts).toEqual({
        migrated: AUTHORS * SESSIONS_PER_AUTHOR,
        alreadyMigrated: 0,
        expired: 2,
        malformed: 3,
        userMissing: 3,
      });
      expect(dry.result).toContain('dry run, nothing changed');
      expect((await allKeys(store)).sort()).toEqual(keysBefore);

      const run = await migrate(t);
      expect(run.counts).toEqual(dry.counts);
      expect(run.progressLines).toBeGreaterThan(1);
      // Never a token in what it prints.
      for (const token of tokens.slice(0, 50)) expect(run.output).not.toContain(token);
      expect(run.output).not.toMatch(/eyJ[\w-]+\./);

      // Only the skipped entries are left in the original's layouts.
      const left = (await allKeys(store)).filter((key) => key.includes('eyJ'));
      expect(left).toHaveLength(2 + 3 + 3);
      const members = await store.smembers(`user_sessions:${authors[5].authorId}`);
      expect(members).toHaveLength(SESSIONS_PER_AUTHOR + 1);
      expect(members.filter((member) => member.includes('.'))).toEqual([]);

      const again = await migrate(t);
      expect(again.counts).toEqual({ ...dry.counts, migrated: 0 });

      // A migrated session answers to its original token, and to this service's token it is given.
      const res = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${tokens[4242]}`);
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(authors[42].authorId);
      await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${res.headers['x-session-token']}`)
        .expect(200);
    }, 180_000);
  },
);
