import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { newRegistration, registerAuthor, sessionCookie, setCookies } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { type Data, dataOf, errorCode } from '../support/graphql';

// The app writes src/schema.gql only when it starts in development (`npm start`); a resolver change
// without a regenerated file fails the schema test below. Start the app once to regenerate it.
const COMMITTED_SCHEMA = readFileSync(join(process.cwd(), 'src/schema.gql'), 'utf8');

const PROFILE = `id email name slug pic bio emailVerified phone phoneVerified roles permissions
  createdAt lastSeen`;
const SESSION = 'id createdAt lastActive expiresAt ip userAgent current';
const PAYLOAD = `author { ${PROFILE} } session { ${SESSION} } token`;

const REGISTER = `mutation Register($input: RegisterInput!) { register(input: $input) { ${PAYLOAD} } }`;
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${PAYLOAD} } }`;
const LOGOUT = 'mutation { logout }';
const ME = `query { me { ${PROFILE} } }`;
const MY_SESSIONS = `query { mySessions { ${SESSION} } }`;
const UPDATE_PROFILE = `mutation Update($input: UpdateProfileInput!) {
  updateProfile(input: $input) { ${PROFILE} } }`;
const CHANGE_PASSWORD = `mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) }`;
const REVOKE_SESSION = 'mutation Revoke($id: ID!) { revokeSession(id: $id) }';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const USER_AGENT = 'tessera-graphql-e2e/1.0';
const EVIL_ORIGIN = 'https://evil.example';

/** Who a request acts as, and which browser headers it carries. */
interface As {
  cookie?: string;
  token?: string;
  /** The app's own origin unless given; `null` sends none. */
  origin?: string | null;
  referer?: string;
}

/** One GraphQL operation over HTTP, the way a browser client or an API client sends it. */
function gql(t: TestApp, query: string, variables: Record<string, unknown> = {}, as: As = {}) {
  const req = t
    .http()
    .post('/graphql')
    .set('Content-Type', 'application/json')
    .set('User-Agent', USER_AGENT);
  const origin = as.origin === undefined ? t.baseUrl : as.origin;
  if (origin !== null) req.set('Origin', origin);
  if (as.referer) req.set('Referer', as.referer);
  if (as.cookie) req.set('Cookie', as.cookie);
  if (as.token) req.set('Authorization', `Bearer ${as.token}`);
  return req.send({ query, variables });
}

interface SessionJson {
  id: string;
  current: boolean;
}

/** Signs in over GraphQL in bearer mode; each call makes one more session. */
async function bearerLogin(t: TestApp, email: string, password: string) {
  const data = dataOf(await gql(t, LOGIN, { input: { email, password, mode: 'bearer' } }));
  return { token: data.login.token as string, sessionId: data.login.session.id as string };
}

async function registerOverGraphql(t: TestApp, mode?: 'cookie' | 'bearer') {
  const registration = newRegistration();
  const res = await gql(t, REGISTER, { input: { ...registration, mode } });
  return { registration, res };
}

/** The session cookie line a response sets, for its attributes. */
function cookieLine(t: TestApp, res: Response): string | undefined {
  return setCookies(res).find((line) => line.startsWith(`${t.config.cookie.name}=`));
}

/** Whether a credential still authenticates `me`. */
async function isAlive(t: TestApp, as: As): Promise<boolean> {
  const res = await gql(t, ME, {}, as);
  if (res.body.data?.me) return true;
  expect(errorCode(res)).toBe('UNAUTHENTICATED');
  return false;
}

describe('GraphQL auth', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  describe('register and login', () => {
    it('register in cookie mode (the default) sets an httpOnly cookie and returns no token', async () => {
      const { registration, res } = await registerOverGraphql(t);
      const { register } = dataOf(res);

      const line = cookieLine(t, res);
      expect(line).toBeDefined();
      expect(line).toMatch(/; HttpOnly/);
      expect(line).toMatch(/; SameSite=Lax/);
      expect(line).toMatch(/; Path=\//);
      expect(line).toMatch(new RegExp(`; Max-Age=${t.config.cookie.maxAgeSeconds}`));
      expect(register.token).toBeNull();
      expect(JSON.stringify(res.body)).not.toContain(sessionCookie(res)!.split('=')[1]);

      expect(register.author).toEqual({
        id: expect.any(Number),
        email: registration.email,
        name: registration.name,
        slug: expect.stringMatching(/^[a-z0-9]+(-[a-z0-9]+)*$/),
        pic: null,
        bio: null,
        emailVerified: false,
        phone: null,
        phoneVerified: false,
        roles: ['user'],
        permissions: expect.arrayContaining(['read', 'write']),
        createdAt: expect.any(Number),
        lastSeen: null,
      });
      expect(register.author.permissions).toHaveLength(2);
      expect(register.session).toEqual({
        id: expect.stringMatching(UUID_V4),
        createdAt: expect.any(Number),
        lastActive: expect.any(Number),
        expiresAt: expect.any(Number),
        ip: '127.0.0.1',
        userAgent: USER_AGENT,
        current: true,
      });
      const month = t.config.jwt.expirationHours * 3600;
      expect(register.session.expiresAt - register.session.createdAt).toBeCloseTo(month, -1);
      expect(Math.abs(register.author.createdAt - Date.now() / 1000)).toBeLessThan(60);

      // The cookie is the credential: it signs the new author in.
      const me = dataOf(await gql(t, ME, {}, { cookie: sessionCookie(res) }));
      expect(me.me.id).toBe(register.author.id);
    });

    it('register in bearer mode returns the token and sets no cookie', async () => {
      const { registration, res } = await registerOverGraphql(t, 'bearer');
      const { register } = dataOf(res);
      expect(register.token).toEqual(expect.any(String));
      expect(register.author.email).toBe(registration.email);
      expect(register.session.current).toBe(true);
      expect(setCookies(res)).toEqual([]);

      const me = dataOf(await gql(t, ME, {}, { token: register.token, origin: null }));
      expect(me.me.email).toBe(registration.email);
    });

    it('register with a taken email, in another case, answers CONFLICT', async () => {
      const { registration } = await registerOverGraphql(t, 'bearer');
      const res = await gql(t, REGISTER, {
        input: { ...newRegistration(), email: registration.email.toUpperCase() },
      });
      expect(errorCode(res)).toBe('CONFLICT');
      expect(res.body.data).toBeNull();
      expect(setCookies(res)).toEqual([]);
    });

    it('login in cookie mode, explicit or omitted, sets the cookie and returns no token', async () => {
      const author = await registerAuthor(t);
      for (const mode of ['cookie', undefined]) {
        const res = await gql(t, LOGIN, {
          input: { email: author.email, password: author.password, mode },
        });
        const { login } = dataOf(res);
        expect(login.token).toBeNull();
        expect(cookieLine(t, res)).toMatch(/; HttpOnly/);
        expect(login.author).toMatchObject({
          id: author.authorId,
          email: author.email,
          roles: ['user'],
          emailVerified: false,
        });
        expect(login.author.lastSeen).toEqual(expect.any(Number));
        expect(login.session).toMatchObject({ id: expect.stringMatching(UUID_V4), current: true });
        expect(login.session.id).not.toBe(author.body.session.id);

        const me = dataOf(await gql(t, ME, {}, { cookie: sessionCookie(res) }));
        expect(me.me.id).toBe(author.authorId);
      }
    });

    it('login in bearer mode returns a working token and sets no cookie', async () => {
      const author = await registerAuthor(t);
      const res = await gql(t, LOGIN, {
        input: { email: author.email, password: author.password, mode: 'bearer' },
      });
      const { login } = dataOf(res);
      expect(setCookies(res)).toEqual([]);
      expect(login.token).toEqual(expect.any(String));
      expect(login.author.id).toBe(author.authorId);
      expect(await isAlive(t, { token: login.token, origin: null })).toBe(true);
    });

    it('refuses an unknown delivery mode', async () => {
      const author = await registerAuthor(t);
      const res = await gql(t, LOGIN, {
        input: { email: author.email, password: author.password, mode: 'url' },
      });
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(setCookies(res)).toEqual([]);
    });

    it('answers an unknown email and a wrong password with the same UNAUTHENTICATED error', async () => {
      const author = await registerAuthor(t);
      const unknown = await gql(t, LOGIN, {
        input: { email: newRegistration().email, password: author.password },
      });
      const wrong = await gql(t, LOGIN, {
        input: { email: author.email, password: `${author.password}-wrong` },
      });
      for (const res of [unknown, wrong]) {
        expect(errorCode(res)).toBe('UNAUTHENTICATED');
        expect(res.body.data).toBeNull();
        expect(res.body.errors[0].message).toBe('Invalid email or password');
        expect(setCookies(res)).toEqual([]);
      }
      expect(unknown.body.errors[0].extensions).toEqual(wrong.body.errors[0].extensions);
    });
  });

  describe('me and mySessions', () => {
    it('answers an anonymous me with UNAUTHENTICATED, null data and no stack trace', async () => {
      const res = await gql(t, ME);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      expect(res.body.data).toBeNull();
      expect(res.body.errors[0].extensions.stacktrace).toBeUndefined();
      expect(res.text).not.toMatch(/stacktrace|at .*\.[jt]s:\d+/);
    });

    it('treats a forged or garbage bearer token as anonymous', async () => {
      const author = await registerAuthor(t);
      const [header, payload] = author.token!.split('.');
      for (const token of ['garbage', `${header}.${payload}.forged-signature`]) {
        expect(await isAlive(t, { token, origin: null })).toBe(false);
      }
    });

    it('serves me by cookie and by bearer token', async () => {
      const author = await registerAuthor(t, 'cookie');
      const byCookie = dataOf(await gql(t, ME, {}, { cookie: author.cookie }));
      expect(byCookie.me).toMatchObject({
        id: author.authorId,
        email: author.email,
        slug: author.body.author.slug,
        roles: ['user'],
      });

      const { token } = await bearerLogin(t, author.email, author.password);
      const byBearer = dataOf(await gql(t, ME, {}, { token, origin: null }));
      expect(byBearer.me).toEqual({ ...byCookie.me, lastSeen: expect.any(Number) });
    });

    it('lists the author’s sessions and marks the one making the request as current', async () => {
      const author = await registerAuthor(t, 'cookie');
      const cookieSession = author.body.session.id as string;
      const bearer = await bearerLogin(t, author.email, author.password);
      const stranger = await registerAuthor(t);

      const byCookie = dataOf(await gql(t, MY_SESSIONS, {}, { cookie: author.cookie }));
      const byBearer = dataOf(await gql(t, MY_SESSIONS, {}, { token: bearer.token }));
      for (const data of [byCookie, byBearer]) {
        expect(data.mySessions.map((s: SessionJson) => s.id).sort()).toEqual(
          [cookieSession, bearer.sessionId].sort(),
        );
        expect(data.mySessions).not.toContainEqual(
          expect.objectContaining({ id: stranger.body.session.id }),
        );
      }
      const current = (data: Data) =>
        data.mySessions.filter((s: SessionJson) => s.current).map((s: SessionJson) => s.id);
      expect(current(byCookie)).toEqual([cookieSession]);
      expect(current(byBearer)).toEqual([bearer.sessionId]);
      expect(byBearer.mySessions.find((s: SessionJson) => s.id === bearer.sessionId)).toEqual({
        id: bearer.sessionId,
        createdAt: expect.any(Number),
        lastActive: expect.any(Number),
        expiresAt: expect.any(Number),
        ip: '127.0.0.1',
        userAgent: USER_AGENT,
        current: true,
      });
    });

    it('answers an anonymous mySessions with UNAUTHENTICATED', async () => {
      const res = await gql(t, MY_SESSIONS);
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      expect(res.body.data).toBeNull();
    });
  });

  describe('updateProfile', () => {
    it('changes name, slug, bio and pic, and clears them with null', async () => {
      const author = await registerAuthor(t, 'cookie');
      const slug = `gql-${author.authorId}-slug`;
      const changes = {
        name: 'Ada Lovelace',
        slug,
        bio: 'Wrote the first program.',
        pic: 'https://cdn.example.test/ada.png',
      };
      const updated = dataOf(
        await gql(t, UPDATE_PROFILE, { input: changes }, { cookie: author.cookie }),
      );
      expect(updated.updateProfile).toMatchObject({ id: author.authorId, ...changes });
      expect(dataOf(await gql(t, ME, {}, { cookie: author.cookie })).me).toMatchObject(changes);

      const cleared = dataOf(
        await gql(
          t,
          UPDATE_PROFILE,
          { input: { name: null, bio: null, pic: null } },
          { cookie: author.cookie },
        ),
      );
      expect(cleared.updateProfile).toMatchObject({ name: null, bio: null, pic: null, slug });
    });

    it('answers CONFLICT for a slug another author has, and keeps the old one', async () => {
      const owner = await registerAuthor(t);
      const other = await registerAuthor(t);
      const res = await gql(
        t,
        UPDATE_PROFILE,
        { input: { slug: owner.body.author.slug, name: 'Copycat' } },
        { token: other.token },
      );
      expect(errorCode(res)).toBe('CONFLICT');
      expect(res.body.data).toBeNull();
      const me = dataOf(await gql(t, ME, {}, { token: other.token })).me;
      expect(me.slug).toBe(other.body.author.slug);
      expect(me.name).toBe(other.body.author.name);
    });

    it('refuses an invalid slug with BAD_USER_INPUT', async () => {
      const author = await registerAuthor(t);
      const res = await gql(
        t,
        UPDATE_PROFILE,
        { input: { slug: 'Not A Slug' } },
        { token: author.token },
      );
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(dataOf(await gql(t, ME, {}, { token: author.token })).me.slug).toBe(
        author.body.author.slug,
      );
    });

    it('answers an anonymous updateProfile with UNAUTHENTICATED', async () => {
      const res = await gql(t, UPDATE_PROFILE, { input: { name: 'Nobody' } });
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
    });
  });

  describe('changePassword', () => {
    it('answers FORBIDDEN for a wrong old password and changes nothing', async () => {
      const author = await registerAuthor(t);
      const other = await bearerLogin(t, author.email, author.password);
      const res = await gql(
        t,
        CHANGE_PASSWORD,
        { input: { oldPassword: `${author.password}-wrong`, newPassword: 'brand-new-password' } },
        { token: author.token },
      );
      expect(errorCode(res)).toBe('FORBIDDEN');
      expect(await isAlive(t, { token: other.token })).toBe(true);
      await bearerLogin(t, author.email, author.password);
    });

    it('sets the new password and ends every other session, keeping the current one', async () => {
      const author = await registerAuthor(t, 'cookie');
      const other = await bearerLogin(t, author.email, author.password);
      const newPassword = `${author.password}-changed`;
      const res = await gql(
        t,
        CHANGE_PASSWORD,
        { input: { oldPassword: author.password, newPassword } },
        { cookie: author.cookie },
      );
      expect(dataOf(res)).toEqual({ changePassword: true });

      expect(await isAlive(t, { token: other.token })).toBe(false);
      expect(await isAlive(t, { cookie: author.cookie })).toBe(true);
      const sessions = dataOf(await gql(t, MY_SESSIONS, {}, { cookie: author.cookie }));
      expect(sessions.mySessions.map((s: SessionJson) => s.id)).toEqual([author.body.session.id]);

      const old = await gql(t, LOGIN, {
        input: { email: author.email, password: author.password },
      });
      expect(errorCode(old)).toBe('UNAUTHENTICATED');
      await bearerLogin(t, author.email, newPassword);
    });

    it('refuses a new password below the minimum length', async () => {
      const author = await registerAuthor(t);
      const res = await gql(
        t,
        CHANGE_PASSWORD,
        { input: { oldPassword: author.password, newPassword: 'short' } },
        { token: author.token },
      );
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      await bearerLogin(t, author.email, author.password);
    });
  });

  describe('revokeSession', () => {
    it('revokes another session of the caller, whose token then stops working', async () => {
      const author = await registerAuthor(t);
      const other = await bearerLogin(t, author.email, author.password);
      const res = await gql(t, REVOKE_SESSION, { id: other.sessionId }, { token: author.token });
      expect(dataOf(res)).toEqual({ revokeSession: true });

      expect(await isAlive(t, { token: other.token })).toBe(false);
      expect(await isAlive(t, { token: author.token })).toBe(true);
      const sessions = dataOf(await gql(t, MY_SESSIONS, {}, { token: author.token }));
      expect(sessions.mySessions.map((s: SessionJson) => s.id)).toEqual([author.body.session.id]);

      // Already gone: nothing left to revoke.
      const again = await gql(t, REVOKE_SESSION, { id: other.sessionId }, { token: author.token });
      expect(errorCode(again)).toBe('NOT_FOUND');
    });

    it('answers NOT_FOUND for another author’s session and leaves it alive', async () => {
      const attacker = await registerAuthor(t);
      const victim = await registerAuthor(t);
      const res = await gql(
        t,
        REVOKE_SESSION,
        { id: victim.body.session.id },
        { token: attacker.token },
      );
      expect(errorCode(res)).toBe('NOT_FOUND');
      expect(res.body.data).toBeNull();
      expect(await isAlive(t, { token: victim.token })).toBe(true);
    });

    it('answers BAD_USER_INPUT for an id that is not a UUID', async () => {
      const author = await registerAuthor(t);
      for (const id of ['not-a-uuid', '../session', `${author.body.session.id}x`]) {
        const res = await gql(t, REVOKE_SESSION, { id }, { token: author.token });
        expect(errorCode(res)).toBe('BAD_USER_INPUT');
      }
      expect(await isAlive(t, { token: author.token })).toBe(true);
    });
  });

  describe('logout', () => {
    it('ends the cookie session and clears the cookie', async () => {
      const author = await registerAuthor(t, 'cookie');
      const res = await gql(t, LOGOUT, {}, { cookie: author.cookie });
      expect(dataOf(res)).toEqual({ logout: true });
      const cleared = cookieLine(t, res);
      expect(cleared).toMatch(new RegExp(`^${t.config.cookie.name}=;`));
      expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
      expect(cleared).toMatch(/; Path=\//);
      expect(await isAlive(t, { cookie: author.cookie })).toBe(false);
    });

    it('ends a bearer session', async () => {
      const author = await registerAuthor(t);
      const other = await bearerLogin(t, author.email, author.password);
      expect(dataOf(await gql(t, LOGOUT, {}, { token: author.token }))).toEqual({ logout: true });
      expect(await isAlive(t, { token: author.token })).toBe(false);
      // Only the session that logged out ends.
      expect(await isAlive(t, { token: other.token })).toBe(true);
    });

    it('answers true without a session, and for a session already ended', async () => {
      expect(dataOf(await gql(t, LOGOUT))).toEqual({ logout: true });
      const author = await registerAuthor(t);
      await gql(t, LOGOUT, {}, { token: author.token });
      expect(dataOf(await gql(t, LOGOUT, {}, { token: author.token }))).toEqual({ logout: true });
    });
  });

  describe('cross-site requests', () => {
    const rename = (name: string) => ({ input: { name } });

    it('refuses a cookie mutation from a foreign Origin with 403, before it runs', async () => {
      const author = await registerAuthor(t, 'cookie');
      const res = await gql(t, UPDATE_PROFILE, rename('Pwned'), {
        cookie: author.cookie,
        origin: EVIL_ORIGIN,
      });
      expect(res.status).toBe(403);
      expect(res.body.message).toBe(`Origin ${EVIL_ORIGIN} is not allowed`);
      expect(res.text).not.toContain('Pwned');
      expect(dataOf(await gql(t, ME, {}, { cookie: author.cookie })).me.name).toBe(
        author.body.author.name,
      );
    });

    it('refuses a cookie mutation with a foreign Referer and no Origin', async () => {
      const author = await registerAuthor(t, 'cookie');
      const res = await gql(t, UPDATE_PROFILE, rename('Pwned'), {
        cookie: author.cookie,
        origin: null,
        referer: `${EVIL_ORIGIN}/page`,
      });
      expect(res.status).toBe(403);
      expect(res.body.message).toBe(`Origin ${EVIL_ORIGIN} is not allowed`);
      expect(dataOf(await gql(t, ME, {}, { cookie: author.cookie })).me.name).toBe(
        author.body.author.name,
      );
    });

    it('refuses a cookie request that carries neither Origin nor Referer', async () => {
      const author = await registerAuthor(t, 'cookie');
      const res = await gql(t, UPDATE_PROFILE, rename('Pwned'), {
        cookie: author.cookie,
        origin: null,
      });
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/must carry Origin or Referer/);
      expect(dataOf(await gql(t, ME, {}, { cookie: author.cookie })).me.name).toBe(
        author.body.author.name,
      );
    });

    it('lets a bearer request through whatever its Origin, since a browser cannot forge it', async () => {
      const author = await registerAuthor(t);
      const res = await gql(t, UPDATE_PROFILE, rename('Renamed By Api'), {
        token: author.token,
        origin: EVIL_ORIGIN,
      });
      expect(dataOf(res).updateProfile.name).toBe('Renamed By Api');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'])(
      'blocks a same-origin cookie mutation sent as %s (Apollo CSRF prevention)',
      async (contentType) => {
        const author = await registerAuthor(t, 'cookie');
        const res = await t
          .http()
          .post('/graphql')
          .set('Content-Type', contentType)
          .set('Origin', t.baseUrl)
          .set('Cookie', author.cookie!)
          .send(JSON.stringify({ query: UPDATE_PROFILE, variables: rename('Pwned') }));
        expect(res.status).toBe(400);
        expect(res.body.errors[0].message).toContain('Cross-Site Request Forgery');
        expect(res.text).not.toContain('Pwned');
        expect(dataOf(await gql(t, ME, {}, { cookie: author.cookie })).me.name).toBe(
          author.body.author.name,
        );
      },
    );
  });

  describe('privilege escalation through input fields', () => {
    const dataSource = () => t.app.get(DataSource);

    async function authorsWithEmail(email: string): Promise<number> {
      const rows: { n: number }[] = await dataSource().query(
        'SELECT count(*)::int AS n FROM author WHERE lower(email) = lower($1)',
        [email],
      );
      return rows[0].n;
    }

    it('refuses updateProfile with roles or isAdmin, in the query or in variables', async () => {
      const author = await registerAuthor(t);
      const inline = await gql(
        t,
        `mutation { updateProfile(input: { name: "Boss", roles: ["admin"] }) { roles } }`,
        {},
        { token: author.token },
      );
      expect(errorCode(inline)).toBe('GRAPHQL_VALIDATION_FAILED');

      for (const extra of [{ roles: ['admin'] }, { isAdmin: true }, { permissions: ['admin'] }]) {
        const res = await gql(
          t,
          UPDATE_PROFILE,
          { input: { name: 'Boss', ...extra } },
          { token: author.token },
        );
        expect(errorCode(res)).toBe('BAD_USER_INPUT');
        expect(res.body.data).toBeUndefined();
      }

      const me = dataOf(await gql(t, ME, {}, { token: author.token })).me;
      expect(me.roles).toEqual(['user']);
      expect([...me.permissions].sort()).toEqual(['read', 'write']);
      expect(me.name).toBe(author.body.author.name);
    });

    it('refuses register with roles or isAdmin and creates no account', async () => {
      const inlineRegistration = newRegistration();
      const inline = await gql(
        t,
        `mutation { register(input: { email: "${inlineRegistration.email}",
          password: "${inlineRegistration.password}", roles: ["admin"] }) { token } }`,
      );
      expect(errorCode(inline)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(await authorsWithEmail(inlineRegistration.email)).toBe(0);

      for (const extra of [{ roles: ['admin'] }, { isAdmin: true }, { emailVerified: true }]) {
        const registration = newRegistration();
        const res = await gql(t, REGISTER, { input: { ...registration, ...extra } });
        expect(errorCode(res)).toBe('BAD_USER_INPUT');
        expect(setCookies(res)).toEqual([]);
        expect(await authorsWithEmail(registration.email)).toBe(0);
      }
    });
  });

  describe('schema file', () => {
    /** Both schemas through the same sort and printer, so only a real difference remains. */
    const normalised = (sdl: string) => printSchema(lexicographicSortSchema(buildSchema(sdl)));

    it('src/schema.gql as committed matches the schema the app serves', () => {
      const live = printSchema(t.app.get(GraphQLSchemaHost).schema);
      expect(normalised(COMMITTED_SCHEMA)).toBe(normalised(live));
    });

    it('the served schema has every auth operation', () => {
      const schema = t.app.get(GraphQLSchemaHost).schema;
      expect(Object.keys(schema.getQueryType()!.getFields())).toEqual(
        expect.arrayContaining(['me', 'mySessions']),
      );
      expect(Object.keys(schema.getMutationType()!.getFields())).toEqual(
        expect.arrayContaining([
          'register',
          'login',
          'logout',
          'updateProfile',
          'changePassword',
          'revokeSession',
        ]),
      );
    });
  });
});

describe('GraphQL login rate limit', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_LOGIN_EMAIL: '3/60' });
  });
  afterAll(() => t.close());

  it('shares the per-email counter with REST login', async () => {
    const author = await registerAuthor(t);
    const wrong = `${author.password}-wrong`;

    await t.http().post('/auth/login').send({ email: author.email, password: wrong }).expect(401);
    const viaGraphql = await gql(t, LOGIN, { input: { email: author.email, password: wrong } });
    expect(errorCode(viaGraphql)).toBe('UNAUTHENTICATED');
    // Another spelling of the same address does not get a fresh counter.
    await t
      .http()
      .post('/auth/login')
      .send({ email: author.email.toUpperCase(), password: wrong })
      .expect(401);

    // The fourth try is over the limit, even with the right password.
    const blocked = await gql(t, LOGIN, {
      input: { email: author.email, password: author.password },
    });
    expect(errorCode(blocked)).toBe('TOO_MANY_REQUESTS');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body.data).toBeNull();
    expect(setCookies(blocked)).toEqual([]);

    const rest = await t
      .http()
      .post('/auth/login')
      .send({ email: author.email, password: author.password })
      .expect(429);
    expect(Number(rest.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(rest.headers['retry-after'])).toBeLessThanOrEqual(60);

    // Another email is counted on its own.
    const other = await registerAuthor(t);
    await bearerLogin(t, other.email, other.password);
  });
});
