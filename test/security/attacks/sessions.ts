import { DataSource } from 'typeorm';
import { REDIS_STORE, type RedisStore } from '../../../src/infra/redis/redis-store';
import { login, registerAuthor, setCookies } from '../../support/auth';
import { openRawStream } from '../../support/sse-client';
import type { TestApp } from '../../support/test-app';
import { waitFor } from '../../support/wait-for';
import type { Attack } from '../attack';

const STREAM = '/sse/notifications';

/** The JSON of GET /auth/profile and the ids of GET /auth/sessions, as the session sees them. */
async function accountView(
  t: TestApp,
  token: string,
): Promise<{ profile: Record<string, unknown>; sessions: string[] }> {
  const auth = `Bearer ${token}`;
  const profile = await t.http().get('/auth/profile').set('Authorization', auth).expect(200);
  const sessions = await t.http().get('/auth/sessions').set('Authorization', auth).expect(200);
  return {
    profile: profile.body,
    sessions: sessions.body.map((session: { id: string }) => session.id).sort(),
  };
}

export const attacks: Attack[] = [
  {
    name: 'open the victim’s notification stream from another site: their cookie, a foreign Referer, no Origin',
    status: 'fixed',
    run: async ({ app: t }) => {
      const victim = await registerAuthor(t, 'cookie');
      const other = await login(t, victim.email, victim.password, 'bearer');
      const before = await accountView(t, other.token!);
      const store = t.app.get<RedisStore>(REDIS_STORE);

      for (const referer of ['http://evil.example/', 'http://evil.example/x?y=1', ':::']) {
        const stream = await openRawStream(new URL(STREAM, t.baseUrl), {
          cookie: victim.cookie,
          headers: { Referer: referer },
        });
        try {
          expect(stream.status).toBe(403);
          expect(stream.headers['content-type']).toMatch(/^application\/json/);
          expect(stream.headers['access-control-allow-origin']).toBeUndefined();
          expect(await stream.json()).toMatchObject({ statusCode: 403 });
          expect(stream.frames).toEqual([]);
        } finally {
          stream.close();
        }
      }

      // No stream slot was taken, and the victim's account and sessions are as they were.
      expect(await store.scard(`sse_user_streams:${victim.authorId}`)).toBe(0);
      expect(await accountView(t, other.token!)).toEqual(before);
      const cookieStill = await t.http().get('/auth/profile').set('Cookie', victim.cookie!);
      expect(cookieStill.status).toBe(200);
    },
  },
  {
    name: 'replay a session token that refresh already rotated away (stolen copy of an old token)',
    status: 'fixed',
    run: async ({ app: t }) => {
      const victim = await registerAuthor(t, 'bearer');
      const stolen = victim.token!;
      const elsewhere = await login(t, victim.email, victim.password, 'bearer');
      const rotated = await t
        .http()
        .post('/auth/refresh')
        .set('Authorization', `Bearer ${stolen}`)
        .expect(200);
      const current: string = rotated.body.token;
      const before = await accountView(t, elsewhere.token!);

      const replay = await t
        .http()
        .post('/auth/refresh')
        .set('Authorization', `Bearer ${stolen}`)
        .set('User-Agent', 'attacker/1.0');
      expect(replay.status).toBe(401);
      expect(replay.body.token).toBeUndefined();
      expect(setCookies(replay)).toEqual([]);
      await t.http().get('/auth/profile').set('Authorization', `Bearer ${stolen}`).expect(401);

      // The session that replaced the stolen one is revoked too, so a thief who refreshed first
      // loses it; the victim's other sign-in and their account are untouched.
      await t.http().get('/auth/profile').set('Authorization', `Bearer ${current}`).expect(401);
      const after = await accountView(t, elsewhere.token!);
      expect(after.profile).toEqual(before.profile);
      expect(after.sessions).toEqual(
        before.sessions.filter((id) => id !== rotated.body.session.id),
      );
      // Audited as a suspected theft (written just after the answer).
      const reuses = () =>
        t.app
          .get(DataSource)
          .query(
            `SELECT data FROM audit_event WHERE author_id = $1 AND type = 'session_reuse_detected'`,
            [victim.authorId],
          ) as Promise<{ data: { session_id: string; revoked: string[] } }[]>;
      await waitFor(async () => (await reuses()).length > 0, {
        message: 'the session_reuse_detected audit event',
      });
      expect((await reuses()).map((event) => event.data)).toEqual([
        { session_id: victim.body.session.id, revoked: [rotated.body.session.id] },
      ]);
    },
  },
];
