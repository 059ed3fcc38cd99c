import type { Test } from 'supertest';
import { DataSource } from 'typeorm';
import { SessionTokenManager } from '../../src/tokens/session-token.service';
import { registerAuthor, sessionCookie } from '../support/auth';
import { closeAllStreams, openRawStream } from '../support/sse-client';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

// Refresh-token rotation with reuse detection: POST /auth/refresh replaces the session, and a
// token that was rotated away, presented again anywhere sessions are verified, means two holders.
// Its successors are revoked (their streams get session_revoked) and `session_reuse_detected` is
// audited. Two refreshes that both found the session live are not reuse (covered where it is
// deterministic, in test/tokens/session-token.e2e-spec.ts).

const USER_AGENT = 'reuse-test/1.0';
const STREAM = '/sse/notifications';

type Mode = 'cookie' | 'bearer';

/** One signed-in client: a session token, sent as the cookie or as a bearer header. */
interface Credential {
  mode: Mode;
  token: string;
}

interface AuditRow {
  author_id: number;
  ip: string | null;
  user_agent: string | null;
  data: { session_id: string; revoked: string[] };
}

const jtiOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti;

describe('refresh token reuse detection', () => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
  });
  afterAll(() => t.close());
  afterEach(() => closeAllStreams());

  const cookieOf = (token: string) => `${t.config.cookie.name}=${token}`;

  /** Sends as a client of ours would: its own Origin (state-changing cookie requests need it). */
  function as(req: Test, credential: Credential): Test {
    req.set('User-Agent', USER_AGENT).set('Origin', t.baseUrl);
    return credential.mode === 'cookie'
      ? req.set('Cookie', cookieOf(credential.token))
      : req.set('Authorization', `Bearer ${credential.token}`);
  }

  async function signUp(mode: Mode): Promise<Credential & { authorId: number }> {
    const author = await registerAuthor(t, mode);
    const token = mode === 'cookie' ? author.cookie!.split('=')[1] : author.token!;
    return { mode, token, authorId: author.authorId };
  }

  /** POST /auth/refresh; the new credential, from the cookie or the body. */
  async function refresh(credential: Credential): Promise<Credential> {
    const res = await as(t.http().post('/auth/refresh'), credential).expect(200);
    const token =
      credential.mode === 'cookie'
        ? sessionCookie(res, t.config.cookie.name)!.split('=')[1]
        : res.body.token;
    expect(jtiOf(token)).toBe(res.body.session.id);
    return { mode: credential.mode, token };
  }

  async function profileStatus(credential: Credential): Promise<number> {
    return (await as(t.http().get('/auth/profile'), credential)).status;
  }

  const reuseEvents = (authorId: number): Promise<AuditRow[]> =>
    db.query(
      `SELECT author_id, ip, user_agent, data FROM audit_event
       WHERE author_id = $1 AND type = 'session_reuse_detected' ORDER BY id`,
      [authorId],
    );

  /** The first reuse event of an author, once written (the audit write follows the 401). */
  const reuseEvent = (authorId: number): Promise<AuditRow> =>
    waitFor(async () => (await reuseEvents(authorId))[0], {
      message: 'the session_reuse_detected audit event',
    });

  /** Ways to present a rotated-away token: each must be refused and count as a reuse. */
  const replays: { route: string; send: (credential: Credential) => Promise<void> }[] = [
    {
      route: 'GET /auth/profile',
      send: async (credential) => {
        await as(t.http().get('/auth/profile'), credential).expect(401);
      },
    },
    {
      route: 'POST /auth/refresh',
      send: async (credential) => {
        const res = await as(t.http().post('/auth/refresh'), credential).expect(401);
        expect(res.body.token).toBeUndefined();
        expect(sessionCookie(res, t.config.cookie.name)).toBeUndefined();
      },
    },
    {
      route: 'POST /graphql',
      send: async (credential) => {
        const res = await as(t.http().post('/graphql'), credential)
          .send({ query: '{ me { id } }' })
          .expect(200);
        expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      },
    },
  ];

  describe.each<Mode>(['bearer', 'cookie'])('%s mode', (mode) => {
    it.each(replays)(
      'refuses a rotated-away token on $route, ends the session that replaced it, and audits it',
      async ({ send }) => {
        const a = await signUp(mode);
        const b = await refresh(a);
        expect(await profileStatus(b)).toBe(200);

        await send(a);

        expect(await profileStatus(b)).toBe(401);
        const event = await reuseEvent(a.authorId);
        expect(event.data).toEqual({ session_id: jtiOf(a.token), revoked: [jtiOf(b.token)] });
        // Who presented it: the attacker's address and user agent, as the audit log keeps them.
        expect(event.ip).toMatch(/127\.0\.0\.1/);
        expect(event.user_agent).toBe(USER_AGENT);
        // Nothing was issued to the replay: the author has no session left, and one event.
        expect(await t.app.get(SessionTokenManager).listSessions(a.authorId)).toEqual([]);
        expect(await reuseEvents(a.authorId)).toHaveLength(1);
      },
    );

    it('closes the successor’s stream with session_revoked when the old token comes back', async () => {
      const a = await signUp(mode);
      const b = await refresh(a);
      const stream = await openRawStream(new URL(STREAM, t.baseUrl), {
        ...(mode === 'cookie' ? { cookie: cookieOf(b.token) } : { bearer: b.token }),
      });
      expect(stream.status).toBe(200);
      await stream.untilMessage((m) => m.type === 'connected', 'connected');

      expect(await profileStatus(a)).toBe(401);

      await stream.untilEnded('the successor’s stream closed');
      expect(stream.dataFrames.at(-1)!.data).toBe('{"type":"session_revoked"}');
    });

    it('leaves a chain used as intended alone: A→B→C, and C keeps working', async () => {
      const a = await signUp(mode);
      const b = await refresh(a);
      const c = await refresh(b);
      for (let i = 0; i < 3; i++) expect(await profileStatus(c)).toBe(200);
      const sessions = await as(t.http().get('/auth/sessions'), c).expect(200);
      expect(sessions.body.map((s: { id: string }) => s.id)).toEqual([jtiOf(c.token)]);
      expect(await reuseEvents(a.authorId)).toEqual([]);
    });
  });

  it('refuses a rotated-away token opening a stream (401, no frame), ends its successor, and audits it', async () => {
    const a = await signUp('bearer');
    const b = await refresh(a);

    const refused = await openRawStream(new URL(STREAM, t.baseUrl), { bearer: a.token });
    expect(refused.status).toBe(401);
    expect(refused.frames).toEqual([]);

    expect(await profileStatus(b)).toBe(401);
    const event = await reuseEvent(a.authorId);
    expect(event).toMatchObject({
      author_id: a.authorId,
      data: { session_id: jtiOf(a.token), revoked: [jtiOf(b.token)] },
    });
    expect(await t.app.get(SessionTokenManager).listSessions(a.authorId)).toEqual([]);
  });
});
