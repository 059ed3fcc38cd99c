import { createHmac, randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { JwtCodec } from '../../src/tokens/jwt-codec.service';
import { SessionTokenManager, sessionKey } from '../../src/tokens/session-token.service';
import { login, newRegistration, registerAuthor, setCookies } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

const ALLOWED_ORIGIN = 'https://app.example.test';
const FOREIGN_ORIGIN = 'https://evil.example';
const DEFAULT_MAX_AGE = 2_592_000;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const INVALID_CREDENTIALS = {
  statusCode: 401,
  message: 'Invalid email or password',
  error: 'Unauthorized',
};

interface ParsedCookie {
  name: string;
  value: string;
  /** Attribute names in lower case; flags (HttpOnly, Secure) map to true. */
  attributes: Record<string, string | true>;
}

function parseSetCookie(line: string): ParsedCookie {
  const [pair, ...parts] = line.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const part of parts) {
    const at = part.indexOf('=');
    if (at < 0) attributes[part.toLowerCase()] = true;
    else attributes[part.slice(0, at).toLowerCase()] = part.slice(at + 1);
  }
  return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attributes };
}

/** The one Set-Cookie line of a response, which must name `name`. */
function onlyCookie(res: Response, name: string): ParsedCookie {
  const lines = setCookies(res);
  expect(lines).toHaveLength(1);
  const cookie = parseSetCookie(lines[0]);
  expect(cookie.name).toBe(name);
  return cookie;
}

/** The cookie a browser keeps after a response: the last Set-Cookie line for `name` wins. */
function effectiveCookie(res: Response, name: string): ParsedCookie {
  const lines = setCookies(res)
    .map(parseSetCookie)
    .filter((cookie) => cookie.name === name);
  expect(lines.length).toBeGreaterThan(0);
  return lines[lines.length - 1];
}

interface Claims {
  user_id: number;
  username: string;
  iat: number;
  exp: number;
  jti: string;
}

function payloadOf(jwt: string): Claims {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

function encodeSegment(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Asserts the cookie's Expires is `maxAge` seconds from now, give or take clock and latency. */
function expectExpiresIn(cookie: ParsedCookie, maxAgeSeconds: number): void {
  const expires = Date.parse(String(cookie.attributes.expires));
  expect(Math.abs(expires - (Date.now() + maxAgeSeconds * 1000))).toBeLessThan(10_000);
}

const PROFILE_KEYS = [
  'bio',
  'created_at',
  'email',
  'email_verified',
  'id',
  'last_seen',
  'name',
  'permissions',
  'phone',
  'phone_verified',
  'pic',
  'roles',
  'slug',
];

/** Matches null or a value of `type` (jest has no built-in "one of"). */
function nullOr(type: NumberConstructor | StringConstructor) {
  return {
    asymmetricMatch: (actual: unknown) => actual === null || actual?.constructor === type,
    toString: () => `null or ${type.name}`,
  };
}

function expectSessionShape(session: unknown): void {
  expect(session).toEqual({
    id: expect.stringMatching(UUID_V4),
    created_at: expect.any(Number),
    last_active: expect.any(Number),
    expires_at: expect.any(Number),
    ip: expect.any(String),
    user_agent: nullOr(String),
    current: expect.any(Boolean),
  });
}

describe('Auth REST routes', () => {
  let t: TestApp;
  let cookieName: string;

  // CORS_ORIGINS is set for the CSRF tests; every other test uses the app's own origin.
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: ALLOWED_ORIGIN });
    cookieName = t.config.cookie.name;
  });
  afterAll(() => t.close());

  /** A cookie-authenticated request from the app's own pages, as a browser would send it. */
  const withCookie = <T extends { set(name: string, value: string): T }>(
    req: T,
    cookie: string,
  ): T => req.set('Cookie', cookie).set('Origin', t.baseUrl);
  const profileStatus = async (auth: { cookie?: string; token?: string }) => {
    // Without credentials a "dead session" 401 would pass for the wrong reason.
    if (!auth.cookie && !auth.token) throw new Error('profileStatus needs a cookie or a token');
    const req = t.http().get('/auth/profile');
    if (auth.cookie) req.set('Cookie', auth.cookie);
    if (auth.token) req.set('Authorization', `Bearer ${auth.token}`);
    return (await req).status;
  };
  const db = () => t.app.get(DataSource);

  describe('register and login: token delivery', () => {
    it('register in cookie mode sets the session cookie and keeps the token out of the body', async () => {
      const registration = newRegistration();
      const res = await t
        .http()
        .post('/auth/register')
        .set('User-Agent', 'auth-rest-e2e/1.0')
        .send({ ...registration, mode: 'cookie' })
        .expect(201);

      expect(Object.keys(res.body).sort()).toEqual(['author', 'session']);
      expect(res.body.author).toEqual({
        id: expect.any(Number),
        email: registration.email,
        name: registration.name,
        slug: expect.stringMatching(/^[a-z0-9]+(-[a-z0-9]+)*$/),
        pic: null,
        bio: null,
        email_verified: false,
        phone: null,
        phone_verified: false,
        roles: ['user'],
        permissions: expect.arrayContaining(['read', 'write']),
        created_at: expect.any(Number),
        last_seen: nullOr(Number),
      });
      expect(res.body.author.permissions).toHaveLength(2);
      expectSessionShape(res.body.session);
      expect(res.body.session).toMatchObject({ current: true, user_agent: 'auth-rest-e2e/1.0' });
      expect(res.body.session.expires_at - res.body.session.created_at).toBe(720 * 3600);

      const cookie = onlyCookie(res, 'session_token');
      // Defaults under NODE_ENV=test: host-only, not Secure, HttpOnly, Lax, 30 days.
      expect(cookie.attributes).toEqual({
        'max-age': String(DEFAULT_MAX_AGE),
        path: '/',
        expires: expect.any(String),
        httponly: true,
        samesite: 'Lax',
      });
      expectExpiresIn(cookie, DEFAULT_MAX_AGE);
      expect(payloadOf(cookie.value)).toMatchObject({
        user_id: res.body.author.id,
        jti: res.body.session.id,
      });
      expect(res.text).not.toContain(cookie.value);
      expect(await profileStatus({ cookie: `session_token=${cookie.value}` })).toBe(200);
    });

    it('login in cookie mode (also the default) sets the cookie and returns no token', async () => {
      const author = await registerAuthor(t, 'bearer');
      for (const mode of ['cookie', undefined]) {
        const res = await t
          .http()
          .post('/auth/login')
          .send({ email: author.email, password: author.password, mode })
          .expect(200);
        expect(Object.keys(res.body).sort()).toEqual(['author', 'session']);
        expect(Object.keys(res.body.author).sort()).toEqual(PROFILE_KEYS);
        expect(res.body.author).toMatchObject({ id: author.authorId, email: author.email });
        expect(res.body.author.last_seen).toEqual(expect.any(Number));
        expectSessionShape(res.body.session);
        expect(res.body.session.current).toBe(true);
        // A new session each time, not the registration's.
        expect(res.body.session.id).not.toBe(author.body.session.id);

        const cookie = onlyCookie(res, 'session_token');
        expect(cookie.attributes).toEqual({
          'max-age': String(DEFAULT_MAX_AGE),
          path: '/',
          expires: expect.any(String),
          httponly: true,
          samesite: 'Lax',
        });
        expect(payloadOf(cookie.value).jti).toBe(res.body.session.id);
        expect(res.text).not.toContain(cookie.value);
      }
    });

    it('register and login in bearer mode return the token and set no cookie', async () => {
      const registration = newRegistration();
      const registered = await t
        .http()
        .post('/auth/register')
        .send({ ...registration, mode: 'bearer' })
        .expect(201);
      expect(Object.keys(registered.body).sort()).toEqual(['author', 'session', 'token']);
      expect(setCookies(registered)).toEqual([]);
      expect(payloadOf(registered.body.token).jti).toBe(registered.body.session.id);
      expect(await profileStatus({ token: registered.body.token })).toBe(200);

      const loggedIn = await t
        .http()
        .post('/auth/login')
        .send({ email: registration.email, password: registration.password, mode: 'bearer' })
        .expect(200);
      expect(Object.keys(loggedIn.body).sort()).toEqual(['author', 'session', 'token']);
      expect(setCookies(loggedIn)).toEqual([]);
      expect(loggedIn.body.author.id).toBe(registered.body.author.id);
      expect(payloadOf(loggedIn.body.token)).toMatchObject({
        user_id: registered.body.author.id,
        jti: loggedIn.body.session.id,
      });
      expect(await profileStatus({ token: loggedIn.body.token })).toBe(200);
    });

    it('refuses a second account for the same email in any case, and unknown fields', async () => {
      const author = await registerAuthor(t);
      await t
        .http()
        .post('/auth/register')
        .send({ ...newRegistration(), email: author.email.toUpperCase() })
        .expect(409);
      const unknownField = await t
        .http()
        .post('/auth/register')
        .send({ ...newRegistration(), mode: 'bearer', roles: ['admin'] })
        .expect(400);
      expect(unknownField.body.token).toBeUndefined();
      await t
        .http()
        .post('/auth/login')
        .send({ email: author.email, password: author.password, mode: 'token' })
        .expect(400);
    });

    it('never shows a token to a caller authenticated only by cookie', async () => {
      const author = await registerAuthor(t, 'cookie');
      const cookieValue = author.cookie!.split('=')[1];

      const profile = await t.http().get('/auth/profile').set('Cookie', author.cookie!).expect(200);
      expect(profile.body.token).toBeUndefined();
      expect(profile.text).not.toContain(cookieValue);

      const sessions = await t
        .http()
        .get('/auth/sessions')
        .set('Cookie', author.cookie!)
        .expect(200);
      expect(sessions.text).not.toContain(cookieValue);
      expect(sessions.body.every((s: Record<string, unknown>) => !('token' in s))).toBe(true);

      const refreshed = await withCookie(t.http().post('/auth/refresh'), author.cookie!).expect(
        200,
      );
      expect(Object.keys(refreshed.body).sort()).toEqual(['author', 'session']);
      const renewed = onlyCookie(refreshed, cookieName);
      expect(refreshed.text).not.toContain(renewed.value);
      expect(refreshed.text).not.toContain(cookieValue);
    });
  });

  describe('POST /auth/logout', () => {
    it('ends a cookie session and clears the cookie', async () => {
      const author = await registerAuthor(t, 'cookie');
      const other = await login(t, author.email, author.password, 'bearer');
      const res = await withCookie(t.http().post('/auth/logout'), author.cookie!).expect(204);
      expect(res.text).toBe('');

      const cleared = onlyCookie(res, 'session_token');
      expect(cleared.value).toBe('');
      expect(cleared.attributes).toMatchObject({ path: '/', httponly: true, samesite: 'Lax' });
      expect(cleared.attributes.domain).toBeUndefined();
      expect(Date.parse(String(cleared.attributes.expires))).toBeLessThan(Date.now());

      expect(await profileStatus({ cookie: author.cookie })).toBe(401);
      // Only the current session ends.
      const listed = await t
        .http()
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${other.token}`)
        .expect(200);
      expect(listed.body.map((s: { id: string }) => s.id)).toEqual([other.body.session.id]);
    });

    it('ends a bearer session and is idempotent', async () => {
      const author = await registerAuthor(t, 'bearer');
      const logout = () =>
        t.http().post('/auth/logout').set('Authorization', `Bearer ${author.token}`);
      await logout().expect(204);
      expect(await profileStatus({ token: author.token })).toBe(401);
      await logout().expect(204);
    });

    it('answers 204 with no session at all', async () => {
      await t.http().post('/auth/logout').expect(204);
      // A dead cookie is no session either; it needs no Origin since nothing is authenticated.
      const author = await registerAuthor(t, 'cookie');
      await withCookie(t.http().post('/auth/logout'), author.cookie!).expect(204);
      await t.http().post('/auth/logout').set('Cookie', author.cookie!).expect(204);
    });
  });

  describe('POST /auth/refresh', () => {
    it('gives a cookie caller a new cookie, no token, and kills the old cookie', async () => {
      const author = await registerAuthor(t, 'cookie');
      const res = await withCookie(t.http().post('/auth/refresh'), author.cookie!).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['author', 'session']);
      expect(res.body.author.id).toBe(author.authorId);
      expect(res.body.session.current).toBe(true);
      expect(res.body.session.id).not.toBe(author.body.session.id);

      const renewed = onlyCookie(res, 'session_token');
      expect(renewed.attributes).toMatchObject({
        'max-age': String(DEFAULT_MAX_AGE),
        path: '/',
        httponly: true,
        samesite: 'Lax',
      });
      expect(payloadOf(renewed.value).jti).toBe(res.body.session.id);
      const newCookie = `session_token=${renewed.value}`;

      expect(await profileStatus({ cookie: newCookie })).toBe(200);
      // The old cookie is dead, and presenting it again ends its successor too (reuse detection,
      // test/auth/refresh-reuse.e2e-spec.ts).
      await withCookie(t.http().post('/auth/refresh'), author.cookie!).expect(401);
      expect(await profileStatus({ cookie: newCookie })).toBe(401);
    });

    it('gives a bearer caller a token, no cookie, and a replayed old token ends the new one too', async () => {
      const author = await registerAuthor(t, 'bearer');
      const refresh = (token: string) =>
        t.http().post('/auth/refresh').set('Authorization', `Bearer ${token}`);
      const res = await refresh(author.token!).expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['author', 'session', 'token']);
      expect(setCookies(res)).toEqual([]);
      expect(res.body.token).not.toBe(author.token);
      expect(payloadOf(res.body.token).jti).toBe(res.body.session.id);
      expect(res.body.session.id).not.toBe(author.body.session.id);

      expect(await profileStatus({ token: res.body.token })).toBe(200);
      const replay = await refresh(author.token!).expect(401);
      expect(replay.body.token).toBeUndefined();
      // A rotated-away token in use means two holders: the session that replaced it ends too.
      expect(await profileStatus({ token: res.body.token })).toBe(401);
    });

    it('needs a session', async () => {
      await t.http().post('/auth/refresh').expect(401);
    });
  });

  describe('GET and PUT /auth/profile', () => {
    it('shows the caller their own profile', async () => {
      const author = await registerAuthor(t, 'bearer');
      const res = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(200);
      expect(Object.keys(res.body).sort()).toEqual(PROFILE_KEYS);
      expect(res.body).toEqual({
        ...author.body.author,
        last_seen: nullOr(Number),
      });
      await t.http().get('/auth/profile').expect(401);
    });

    it('updates name, bio, pic and slug, and null clears the bio', async () => {
      const author = await registerAuthor(t, 'cookie');
      const slug = `new-slug-${randomBytes(4).toString('hex')}`;
      const changes = {
        name: 'Ada Lovelace',
        bio: 'Wrote the first program.',
        pic: 'https://cdn.example.test/ada.png',
        slug,
      };
      const updated = await withCookie(t.http().put('/auth/profile'), author.cookie!)
        .send(changes)
        .expect(200);
      expect(updated.body).toMatchObject({ id: author.authorId, email: author.email, ...changes });
      expect(Object.keys(updated.body).sort()).toEqual(PROFILE_KEYS);

      const read = await t.http().get('/auth/profile').set('Cookie', author.cookie!).expect(200);
      expect(read.body).toMatchObject(changes);

      const cleared = await withCookie(t.http().put('/auth/profile'), author.cookie!)
        .send({ bio: null })
        .expect(200);
      // Omitted fields stay as they are.
      expect(cleared.body).toMatchObject({ ...changes, bio: null });
    });

    it('refuses a slug another author has with 409 and keeps the profile as it was', async () => {
      const taken = await registerAuthor(t, 'bearer');
      const author = await registerAuthor(t, 'bearer');
      const res = await t
        .http()
        .put('/auth/profile')
        .set('Authorization', `Bearer ${author.token}`)
        .send({ slug: taken.body.author.slug, name: 'Should Not Stick' })
        .expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
      const read = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(200);
      expect(read.body.slug).toBe(author.body.author.slug);
      expect(read.body.name).toBe(author.body.author.name);
    });

    it('refuses fields that are not the caller’s to change (email, roles) and bad values', async () => {
      const author = await registerAuthor(t, 'bearer');
      const put = (body: object) =>
        t.http().put('/auth/profile').set('Authorization', `Bearer ${author.token}`).send(body);
      await put({ email: 'taken-over@example.test' }).expect(400);
      await put({ roles: ['admin'] }).expect(400);
      await put({ slug: 'Not A Slug' }).expect(400);
      await put({ pic: 'javascript:alert(1)' }).expect(400);
      const read = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(200);
      expect(read.body).toMatchObject({ email: author.email, roles: ['user'], pic: null });
    });
  });

  describe('POST /auth/change-password', () => {
    it('changes the password and ends every other session, keeping the current one', async () => {
      const author = await registerAuthor(t, 'cookie');
      const otherBearer = await login(t, author.email, author.password, 'bearer');
      const otherCookie = await login(t, author.email, author.password, 'cookie');
      const newPassword = `new-${randomBytes(6).toString('hex')}-password`;

      const res = await withCookie(t.http().post('/auth/change-password'), author.cookie!)
        .send({ old_password: author.password, new_password: newPassword })
        .expect(204);
      expect(res.text).toBe('');

      expect(await profileStatus({ cookie: author.cookie })).toBe(200);
      expect(await profileStatus({ token: otherBearer.token })).toBe(401);
      expect(await profileStatus({ cookie: otherCookie.cookie })).toBe(401);

      const old = await t
        .http()
        .post('/auth/login')
        .send({ email: author.email, password: author.password, mode: 'bearer' })
        .expect(401);
      expect(old.body).toEqual(INVALID_CREDENTIALS);
      await t
        .http()
        .post('/auth/login')
        .send({ email: author.email, password: newPassword, mode: 'bearer' })
        .expect(200);
    });

    it('refuses a wrong old password with 403 and changes nothing', async () => {
      const author = await registerAuthor(t, 'bearer');
      const other = await login(t, author.email, author.password, 'bearer');
      await t
        .http()
        .post('/auth/change-password')
        .set('Authorization', `Bearer ${author.token}`)
        .send({ old_password: 'not-the-password', new_password: 'whatever-new-password' })
        .expect(403);
      expect(await profileStatus({ token: other.token })).toBe(200);
      await t
        .http()
        .post('/auth/login')
        .send({ email: author.email, password: 'whatever-new-password', mode: 'bearer' })
        .expect(401);
      await login(t, author.email, author.password, 'bearer');
    });

    it('refuses a new password under 8 characters', async () => {
      const author = await registerAuthor(t, 'bearer');
      await t
        .http()
        .post('/auth/change-password')
        .set('Authorization', `Bearer ${author.token}`)
        .send({ old_password: author.password, new_password: 'short' })
        .expect(400);
      await login(t, author.email, author.password, 'bearer');
    });
  });

  describe('/auth/sessions', () => {
    it('lists the caller’s sessions, marking the current one', async () => {
      const author = await registerAuthor(t, 'cookie');
      const second = await t
        .http()
        .post('/auth/login')
        .set('User-Agent', 'second-device/2.0')
        .send({ email: author.email, password: author.password, mode: 'bearer' })
        .expect(200);
      // Another author's sessions must not show up.
      await registerAuthor(t, 'bearer');

      const res = await t.http().get('/auth/sessions').set('Cookie', author.cookie!).expect(200);
      expect(res.body).toHaveLength(2);
      res.body.forEach(expectSessionShape);
      const byId = new Map(res.body.map((s: { id: string }) => [s.id, s]));
      expect(byId.get(author.body.session.id)).toMatchObject({ current: true });
      expect(byId.get(second.body.session.id)).toMatchObject({
        current: false,
        user_agent: 'second-device/2.0',
      });

      const asSecond = await t
        .http()
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${second.body.token}`)
        .expect(200);
      expect(
        asSecond.body
          .filter((s: { current: boolean }) => s.current)
          .map((s: { id: string }) => s.id),
      ).toEqual([second.body.session.id]);
    });

    it('revokes one of the caller’s other sessions by id', async () => {
      const author = await registerAuthor(t, 'cookie');
      const other = await login(t, author.email, author.password, 'bearer');
      const otherId = other.body.session.id;
      await withCookie(t.http().delete(`/auth/sessions/${otherId}`), author.cookie!).expect(204);
      expect(await profileStatus({ token: other.token })).toBe(401);
      expect(await profileStatus({ cookie: author.cookie })).toBe(200);
      // Already gone.
      await withCookie(t.http().delete(`/auth/sessions/${otherId}`), author.cookie!).expect(404);
    });

    it('answers 404 for another author’s session id and leaves that session alive', async () => {
      const attacker = await registerAuthor(t, 'bearer');
      const victim = await registerAuthor(t, 'bearer');
      const res = await t
        .http()
        .delete(`/auth/sessions/${victim.body.session.id}`)
        .set('Authorization', `Bearer ${attacker.token}`)
        .expect(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
      expect(await profileStatus({ token: victim.token })).toBe(200);
    });

    it('refuses an id that is not a UUID with 400', async () => {
      const author = await registerAuthor(t, 'bearer');
      await t
        .http()
        .delete('/auth/sessions/not-a-uuid')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(400);
    });

    it('revokes every session but the current one', async () => {
      const author = await registerAuthor(t, 'cookie');
      const others = [
        await login(t, author.email, author.password, 'bearer'),
        await login(t, author.email, author.password, 'cookie'),
      ];
      const bystander = await registerAuthor(t, 'bearer');

      await withCookie(t.http().delete('/auth/sessions'), author.cookie!).expect(204);
      expect(await profileStatus({ token: others[0].token })).toBe(401);
      expect(await profileStatus({ cookie: others[1].cookie })).toBe(401);
      expect(await profileStatus({ cookie: author.cookie })).toBe(200);
      expect(await profileStatus({ token: bystander.token })).toBe(200);

      const listed = await t.http().get('/auth/sessions').set('Cookie', author.cookie!).expect(200);
      expect(listed.body.map((s: { id: string }) => s.id)).toEqual([author.body.session.id]);
    });
  });

  describe('/auth/accounts', () => {
    const link = (authorId: number, provider: string, createdAt = 1_700_000_000) => {
      const providerId = `${provider}-${randomBytes(6).toString('hex')}`;
      return db()
        .query(
          `INSERT INTO oauth_account (author_id, provider, provider_id, provider_email, created_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [authorId, provider, providerId, `${providerId}@mail.example.test`, createdAt],
        )
        .then(() => providerId);
    };

    it('lists nothing for a password account', async () => {
      const author = await registerAuthor(t, 'bearer');
      const res = await t
        .http()
        .get('/auth/accounts')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(200);
      expect(res.body).toEqual([]);
    });

    it('lists linked accounts and unlinks one', async () => {
      const author = await registerAuthor(t, 'cookie');
      const githubId = await link(author.authorId, 'github', 1_700_000_001);
      const googleId = await link(author.authorId, 'google', 1_700_000_002);

      const listed = await t.http().get('/auth/accounts').set('Cookie', author.cookie!).expect(200);
      expect(listed.body).toEqual([
        {
          provider: 'github',
          provider_id: githubId,
          provider_email: `${githubId}@mail.example.test`,
          linked_at: 1_700_000_001,
        },
        {
          provider: 'google',
          provider_id: googleId,
          provider_email: `${googleId}@mail.example.test`,
          linked_at: 1_700_000_002,
        },
      ]);

      await withCookie(t.http().delete('/auth/accounts/github'), author.cookie!).expect(204);
      const after = await t.http().get('/auth/accounts').set('Cookie', author.cookie!).expect(200);
      expect(after.body.map((a: { provider: string }) => a.provider)).toEqual(['google']);
    });

    it('refuses to unlink the last way to sign in with 409', async () => {
      const author = await registerAuthor(t, 'bearer');
      await link(author.authorId, 'google');
      await db().query('UPDATE author SET password_hash = NULL WHERE id = $1', [author.authorId]);
      const res = await t
        .http()
        .delete('/auth/accounts/google')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
      const listed = await t
        .http()
        .get('/auth/accounts')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(200);
      expect(listed.body).toHaveLength(1);

      // With a second account linked, the first is no longer the last way in.
      await link(author.authorId, 'github');
      await t
        .http()
        .delete('/auth/accounts/google')
        .set('Authorization', `Bearer ${author.token}`)
        .expect(204);
    });

    it('answers 400 for an unknown provider and 404 for one that is not linked', async () => {
      const author = await registerAuthor(t, 'bearer');
      await link(author.authorId, 'github');
      const del = (provider: string) =>
        t
          .http()
          .delete(`/auth/accounts/${provider}`)
          .set('Authorization', `Bearer ${author.token}`);
      await del('myspace').expect(400);
      await del('vk').expect(404);
    });

    it('cannot unlink another author’s account', async () => {
      const victim = await registerAuthor(t, 'bearer');
      const attacker = await registerAuthor(t, 'bearer');
      await link(victim.authorId, 'yandex');
      await t
        .http()
        .delete('/auth/accounts/yandex')
        .set('Authorization', `Bearer ${attacker.token}`)
        .expect(404);
      const listed = await t
        .http()
        .get('/auth/accounts')
        .set('Authorization', `Bearer ${victim.token}`)
        .expect(200);
      expect(listed.body.map((a: { provider: string }) => a.provider)).toEqual(['yandex']);
    });
  });

  describe('account enumeration', () => {
    it('answers an unknown email and a wrong password identically', async () => {
      const author = await registerAuthor(t, 'bearer');
      for (const mode of ['cookie', 'bearer']) {
        const unknown = await t
          .http()
          .post('/auth/login')
          .send({ email: newRegistration().email, password: author.password, mode });
        const wrong = await t
          .http()
          .post('/auth/login')
          .send({ email: author.email, password: 'wrong-password-123', mode });
        expect(unknown.status).toBe(401);
        expect(wrong.status).toBe(unknown.status);
        expect(unknown.body).toEqual(INVALID_CREDENTIALS);
        expect(wrong.body).toEqual(unknown.body);
        expect(wrong.text).toBe(unknown.text);
        expect(setCookies(unknown)).toEqual([]);
        expect(setCookies(wrong)).toEqual([]);
      }
    });

    it('answers forgot-password for an existing and an unknown email identically', async () => {
      const author = await registerAuthor(t, 'bearer');
      const unknownEmail = newRegistration().email;
      const forgot = (email: string) => t.http().post('/auth/password/forgot').send({ email });
      const existing = await forgot(author.email);
      const unknown = await forgot(unknownEmail);
      expect(existing.status).toBe(202);
      expect(unknown.status).toBe(existing.status);
      expect(unknown.body).toEqual(existing.body);
      expect(unknown.text).toBe(existing.text);
      for (const header of ['content-type', 'content-length', 'set-cookie']) {
        expect(unknown.headers[header]).toEqual(existing.headers[header]);
      }

      // The lookups run after the answer; wait for both so none outlives the app.
      await waitFor(
        async () => {
          const [{ count }] = await db().query(
            `SELECT count(*)::int AS count FROM audit_event WHERE type = 'password_reset_requested'
             AND (author_id = $1 OR data->>'email' = $2)`,
            [author.authorId, unknownEmail],
          );
          return count === 2;
        },
        { message: 'both password_reset_requested audit events' },
      );
    });
  });

  describe('CSRF: origin rule for cookie-authenticated state changes', () => {
    const changePassword = (author: { password: string }, newPassword: string) => ({
      old_password: author.password,
      new_password: newPassword,
    });
    const newPassword = () => `changed-${randomBytes(6).toString('hex')}`;
    const canLogin = async (email: string, password: string) =>
      (await t.http().post('/auth/login').send({ email, password, mode: 'bearer' })).status;

    it.each([
      ['a foreign Origin', { Origin: FOREIGN_ORIGIN }],
      ['a foreign Referer', { Referer: `${FOREIGN_ORIGIN}/phish?next=/settings` }],
      ['Origin: null (sandboxed frame)', { Origin: 'null' }],
      ['neither Origin nor Referer', {}],
    ])('refuses a cookie request with %s (403) and the password stays', async (_, headers) => {
      const victim = await registerAuthor(t, 'cookie');
      const attempted = newPassword();
      const req = t.http().post('/auth/change-password').set('Cookie', victim.cookie!);
      for (const [name, value] of Object.entries(headers)) req.set(name, value);
      const res = await req.send(changePassword(victim, attempted));
      // The origin rule refused it, not the password check (which also answers 403).
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/Origin/);
      expect(await canLogin(victim.email, victim.password)).toBe(200);
      expect(await canLogin(victim.email, attempted)).toBe(401);
    });

    it.each([
      ['an Origin from CORS_ORIGINS', { Origin: ALLOWED_ORIGIN }],
      ['a Referer from CORS_ORIGINS', { Referer: `${ALLOWED_ORIGIN}/settings/security` }],
    ])('allows a cookie request with %s', async (_, headers) => {
      const author = await registerAuthor(t, 'cookie');
      const changed = newPassword();
      const req = t.http().post('/auth/change-password').set('Cookie', author.cookie!);
      for (const [name, value] of Object.entries(headers)) req.set(name, value);
      await req.send(changePassword(author, changed)).expect(204);
      expect(await canLogin(author.email, changed)).toBe(200);
    });

    it('exempts bearer requests, whatever their Origin', async () => {
      const author = await registerAuthor(t, 'bearer');
      const changed = newPassword();
      await t
        .http()
        .post('/auth/change-password')
        .set('Origin', FOREIGN_ORIGIN)
        .set('Authorization', `Bearer ${author.token}`)
        .send(changePassword(author, changed))
        .expect(204);
      expect(await canLogin(author.email, changed)).toBe(200);
    });

    it('does not let a junk Bearer header smuggle a foreign cookie request through', async () => {
      const victim = await registerAuthor(t, 'cookie');
      const attempted = newPassword();
      const res = await t
        .http()
        .post('/auth/change-password')
        .set('Origin', FOREIGN_ORIGIN)
        .set('Cookie', victim.cookie!)
        .set('Authorization', 'Bearer junk')
        .send(changePassword(victim, attempted));
      // The bearer header wins, so the cookie is not used at all.
      expect(res.status).toBe(401);
      expect(await canLogin(victim.email, victim.password)).toBe(200);
    });

    it('refuses a cross-site logout, leaving the session alive', async () => {
      const victim = await registerAuthor(t, 'cookie');
      await t
        .http()
        .post('/auth/logout')
        .set('Origin', FOREIGN_ORIGIN)
        .set('Cookie', victim.cookie!)
        .expect(403);
      expect(await profileStatus({ cookie: victim.cookie })).toBe(200);
    });
  });

  describe('sliding expiry', () => {
    it('renews an old cookie token for the same session; fresh tokens and bearer callers get no cookie', async () => {
      const codec = t.app.get(JwtCodec);
      const sessions = t.app.get(SessionTokenManager);
      const store = t.app.get<RedisStore>(REDIS_STORE);
      const lifetime = t.config.jwt.expirationHours * 3600;
      const author = await registerAuthor(t, 'bearer');
      const username = `slider-${randomBytes(3).toString('hex')}`;

      const fresh = await sessions.createSession(author.authorId, { username });
      const { jti } = payloadOf(fresh);
      const now = Math.floor(Date.now() / 1000);
      const aged = codec.sign(
        { user_id: author.authorId, username, jti },
        { issuedAt: now - Math.ceil(lifetime * 0.6), expiresInSeconds: lifetime },
      );
      // The Redis entry of a session that old is as near its end, and was last used a while ago.
      const key = sessionKey(author.authorId, jti);
      const remaining = Math.floor(lifetime * 0.4);
      await store.hset(key, {
        expires_at: String(now + remaining),
        last_active: String(now - 3600),
      });
      await store.pexpire(key, remaining * 1000);

      const bearer = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${aged}`)
        .expect(200);
      expect(setCookies(bearer)).toEqual([]);

      const freshCookie = await t
        .http()
        .get('/auth/profile')
        .set('Cookie', `${cookieName}=${fresh}`)
        .expect(200);
      expect(setCookies(freshCookie)).toEqual([]);

      const slid = await t
        .http()
        .get('/auth/profile')
        .set('Cookie', `${cookieName}=${aged}`)
        .expect(200);
      const renewed = onlyCookie(slid, cookieName);
      expect(renewed.attributes).toMatchObject({
        'max-age': String(DEFAULT_MAX_AGE),
        path: '/',
        httponly: true,
        samesite: 'Lax',
      });
      const claims = payloadOf(renewed.value);
      expect(claims).toMatchObject({ user_id: author.authorId, username, jti });
      expect(claims.iat).toBeGreaterThanOrEqual(now);
      expect(claims.exp - claims.iat).toBe(lifetime);

      // The session itself moved along: its Redis TTL and its listed expiry.
      expect(await store.pttl(key)).toBeGreaterThan(lifetime * 0.9 * 1000);
      const listed = await t
        .http()
        .get('/auth/sessions')
        .set('Cookie', `${cookieName}=${renewed.value}`)
        .expect(200);
      expect(setCookies(listed)).toEqual([]);
      const session = listed.body.find((s: { id: string }) => s.id === jti);
      expect(session).toMatchObject({ current: true });
      expect(session.expires_at).toBeGreaterThanOrEqual(now + lifetime);
      expect(listed.body).toHaveLength(2); // the registration's session and this one, no new one
    });
  });

  describe('sliding expiry with a logout or refresh', () => {
    /** A cookie for a live session of a new author whose JWT is past half its life. */
    const agedCookie = async () => {
      const author = await registerAuthor(t, 'bearer');
      const claims = payloadOf(author.token!);
      const lifetime = t.config.jwt.expirationHours * 3600;
      const aged = t.app
        .get(JwtCodec)
        .sign(
          { user_id: claims.user_id, username: claims.username, jti: claims.jti },
          { issuedAt: claims.iat - Math.ceil(lifetime * 0.6), expiresInSeconds: lifetime },
        );
      return { author, cookie: `${cookieName}=${aged}` };
    };

    it('a logout with an aged cookie leaves the browser with no cookie and the session dead', async () => {
      const { author, cookie } = await agedCookie();
      const res = await withCookie(t.http().post('/auth/logout'), cookie).expect(204);
      const kept = effectiveCookie(res, cookieName);
      expect(kept.value).toBe('');
      expect(Date.parse(String(kept.attributes.expires))).toBeLessThan(Date.now());
      expect(await profileStatus({ token: author.token })).toBe(401);
      // Whatever the renewal handed out on the way is dead too.
      for (const line of setCookies(res).map(parseSetCookie)) {
        if (line.value) expect(await profileStatus({ token: line.value })).toBe(401);
      }
    });

    it('a refresh with an aged cookie leaves the browser with the new session', async () => {
      const { author, cookie } = await agedCookie();
      const res = await withCookie(t.http().post('/auth/refresh'), cookie).expect(200);
      const kept = effectiveCookie(res, cookieName);
      expect(payloadOf(kept.value).jti).toBe(res.body.session.id);
      expect(res.body.session.id).not.toBe(author.body.session.id);
      expect(await profileStatus({ cookie: `${cookieName}=${kept.value}` })).toBe(200);
      expect(await profileStatus({ token: author.token })).toBe(401);
    });
  });

  describe('forged and dead tokens', () => {
    const forged: Record<string, string> = {};
    let genuine: string;

    beforeAll(async () => {
      const author = await registerAuthor(t, 'bearer');
      const other = await registerAuthor(t, 'bearer');
      genuine = author.token!;
      const [header, payload, signature] = genuine.split('.');
      const claims = payloadOf(genuine);
      const otherSecretSignature = createHmac('sha256', 'a-guess-at-the-server-secret-0123456789')
        .update(`${header}.${payload}`)
        .digest('base64url');
      const none = encodeSegment({ alg: 'none', typ: 'JWT' });
      const swapped = encodeSegment({
        ...claims,
        user_id: other.authorId,
        jti: other.body.session.id,
      });
      forged['signed with another secret'] = `${header}.${payload}.${otherSecretSignature}`;
      forged['alg: none, no signature'] = `${none}.${payload}.`;
      forged['alg: none, the original signature'] = `${none}.${payload}.${signature}`;
      forged['another author’s claims under this signature'] = `${header}.${swapped}.${signature}`;

      const revoked = await registerAuthor(t, 'bearer');
      await t
        .http()
        .post('/auth/logout')
        .set('Authorization', `Bearer ${revoked.token}`)
        .expect(204);
      forged['of a revoked session'] = revoked.token!;
    });

    it('accepts the genuine token on both paths (control)', async () => {
      expect(await profileStatus({ token: genuine })).toBe(200);
      expect(await profileStatus({ cookie: `${cookieName}=${genuine}` })).toBe(200);
    });

    it.each([
      'signed with another secret',
      'alg: none, no signature',
      'alg: none, the original signature',
      'another author’s claims under this signature',
      'of a revoked session',
    ])('refuses a token %s, by cookie and by bearer', async (name) => {
      const token = forged[name];
      const asBearer = await t
        .http()
        .get('/auth/profile')
        .set('Authorization', `Bearer ${token}`)
        .expect(401);
      const asCookie = await t
        .http()
        .get('/auth/profile')
        .set('Cookie', `${cookieName}=${token}`)
        .expect(401);
      for (const res of [asBearer, asCookie]) {
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
        expect(res.text).not.toContain(token);
        expect(setCookies(res)).toEqual([]);
      }
    });
  });

  describe('banned author', () => {
    it('cannot sign in, and their existing sessions no longer authenticate', async () => {
      const author = await registerAuthor(t, 'bearer');
      const cookieSession = await login(t, author.email, author.password, 'cookie');
      await db().query(
        'UPDATE author SET banned_at = extract(epoch from now())::bigint WHERE id = $1',
        [author.authorId],
      );

      const res = await t
        .http()
        .post('/auth/login')
        .send({ email: author.email, password: author.password, mode: 'bearer' })
        .expect(403);
      expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      expect(res.body.token).toBeUndefined();
      expect(setCookies(res)).toEqual([]);
      // Without the right password the ban is not revealed.
      const wrong = await t
        .http()
        .post('/auth/login')
        .send({ email: author.email, password: 'wrong-password-123', mode: 'bearer' })
        .expect(401);
      expect(wrong.body).toEqual(INVALID_CREDENTIALS);

      expect(await profileStatus({ token: author.token })).toBe(401);
      expect(await profileStatus({ cookie: cookieSession.cookie })).toBe(401);
    });
  });
});

describe('Auth REST routes: configured session cookie', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      SESSION_COOKIE_SECURE: 'true',
      SESSION_COOKIE_SAMESITE: 'strict',
      SESSION_COOKIE_DOMAIN: 'example.test',
      SESSION_COOKIE_MAX_AGE: '600',
      SESSION_COOKIE_NAME: 'sid',
    });
  });
  afterAll(() => t.close());

  it('sets the cookie with exactly the configured attributes and clears it the same way', async () => {
    const registration = newRegistration();
    const res = await t
      .http()
      .post('/auth/register')
      .send({ ...registration, mode: 'cookie' })
      .expect(201);
    expect(res.body.token).toBeUndefined();
    const cookie = onlyCookie(res, 'sid');
    expect(cookie.attributes).toEqual({
      'max-age': '600',
      domain: 'example.test',
      path: '/',
      expires: expect.any(String),
      httponly: true,
      secure: true,
      samesite: 'Strict',
    });
    expectExpiresIn(cookie, 600);

    // Only the configured name is read.
    const profile = (name: string) =>
      t.http().get('/auth/profile').set('Cookie', `${name}=${cookie.value}`);
    await profile('sid').expect(200);
    await profile('session_token').expect(401);

    const login = await t
      .http()
      .post('/auth/login')
      .send({ email: registration.email, password: registration.password })
      .expect(200);
    expect(onlyCookie(login, 'sid').attributes).toMatchObject({
      'max-age': '600',
      domain: 'example.test',
      secure: true,
      samesite: 'Strict',
    });

    const logout = await t
      .http()
      .post('/auth/logout')
      .set('Cookie', `sid=${cookie.value}`)
      .set('Origin', t.baseUrl)
      .expect(204);
    const cleared = onlyCookie(logout, 'sid');
    expect(cleared.value).toBe('');
    expect(cleared.attributes).toMatchObject({
      domain: 'example.test',
      path: '/',
      httponly: true,
      secure: true,
      samesite: 'Strict',
    });
    expect(Date.parse(String(cleared.attributes.expires))).toBeLessThan(Date.now());
    await profile('sid').expect(401);
  });
});
