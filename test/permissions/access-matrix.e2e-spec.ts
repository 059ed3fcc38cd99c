import { randomBytes, randomInt } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Response, Test } from 'supertest';
import { DataSource } from 'typeorm';
import { PhoneVerificationService } from '../../src/auth/phone-verification.service';
import { SmsSender } from '../../src/infra/sms/sms.service';
import { NotifyService } from '../../src/notifications/notify.service';
import { AdminBootstrapService } from '../../src/admin/admin-bootstrap.service';
import { FollowsService } from '../../src/publishing/follows.service';
import { SessionTokenManager } from '../../src/tokens/session-token.service';
import { accessTable } from '../support/access-table';
import { login, newRegistration, registerAuthor } from '../support/auth';
import { startTestApp, type TestApp } from '../support/test-app';
import { type Data, dataOf } from '../support/graphql';

// Issue #5, must-show 1: every protected operation, over REST and GraphQL, against five callers.
// The matrix below is the contract; each (operation, caller) cell is its own test, so a change in
// who can reach what shows up as the one cell that fails.

const CALLERS = ['anonymous', 'user', 'moderator', 'admin', 'banned'] as const;
type Caller = (typeof CALLERS)[number];
/** `ok`: neither 401/403 nor UNAUTHENTICATED/FORBIDDEN (the row then checks the call did its job). */
type Outcome = 'ok' | 401 | 403;
type Expectation = Record<Caller, Outcome>;

const PUBLIC: Expectation = {
  anonymous: 'ok',
  user: 'ok',
  moderator: 'ok',
  admin: 'ok',
  banned: 'ok',
};
/** A session is enough; the banned caller's token died with the ban. */
const SESSION: Expectation = {
  anonymous: 401,
  user: 'ok',
  moderator: 'ok',
  admin: 'ok',
  banned: 401,
};
/** `write` is part of the `user` role, so it reads like SESSION. */
const WRITE: Expectation = SESSION;
const MODERATE: Expectation = {
  anonymous: 401,
  user: 403,
  moderator: 'ok',
  admin: 'ok',
  banned: 401,
};
const ADMIN: Expectation = {
  anonymous: 401,
  user: 403,
  moderator: 403,
  admin: 'ok',
  banned: 401,
};

/** Who a cell calls as. */
interface Actor {
  caller: Caller;
  /** Bearer token; for `banned`, one captured while it still worked. */
  token?: string;
  authorId?: number;
  email?: string;
  password?: string;
}

interface Row<C = unknown> {
  api: 'REST' | 'GraphQL';
  /** `METHOD /path` as routed, or the GraphQL root field. */
  op: string;
  expect: Expectation;
  /** The permission a 403 names. */
  permission?: 'write' | 'moderate' | 'admin';
  /** The call ends sessions or changes the password: each cell gets a new caller of its role. */
  fresh?: boolean;
  /** Per-cell arguments and targets (throwaway authors, shouts, sessions). */
  prepare?(actor: Actor): Promise<C>;
  send(actor: Actor, ctx: C): Test;
  /** For an allowed cell: the call did what it is for. */
  succeeded(res: Response, actor: Actor, ctx: C): Promise<void> | void;
  /** For a refused cell: what the call would have changed is as it was. */
  unchanged?(actor: Actor, ctx: C): Promise<void>;
}

/** Keeps each row's context type while the matrix holds them all. */
const row = <C>(definition: Row<C>): Row<unknown> => definition as Row<unknown>;

const unique = () => randomBytes(5).toString('hex');
/** A phone number no other test uses. */
const newPhone = () => `+1555${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
/** Callers whose token is live and whose password is known. */
const signedIn = (actor: Actor) =>
  actor.caller === 'user' || actor.caller === 'moderator' || actor.caller === 'admin';

const ASSIGN_ROLE = `mutation Assign($authorId: Int!, $role: String!) {
  assignRole(authorId: $authorId, role: $role) { id roles } }`;
const REMOVE_ROLE = `mutation Remove($authorId: Int!, $role: String!) {
  removeRole(authorId: $authorId, role: $role) { id roles } }`;
const BAN = `mutation Ban($authorId: Int!, $reason: String) {
  banAuthor(authorId: $authorId, reason: $reason) { id bannedAt } }`;
const UNBAN = `mutation Unban($authorId: Int!) { unbanAuthor(authorId: $authorId) { id bannedAt } }`;
const SHOUT = `id authorId title publishedAt unpublishedAt unpublishReason`;
const CREATE_SHOUT = `mutation Create($input: CreateShoutInput!) { createShout(input: $input) { ${SHOUT} } }`;
const GET_SHOUT = `query Shout($id: Int!) { shout(id: $id) { ${SHOUT} } }`;
const FOLLOWERS = `query Followers($authorId: Int!) {
  followers(authorId: $authorId, first: 100) { nodes { id } } }`;
const AUTHOR_BIO = `query Author($id: Int!) { author(id: $id) { id bio } }`;

describe('access matrix (operation × caller)', () => {
  let t: TestApp;
  let sms: jest.SpiedFunction<SmsSender['send']>;
  let rootAdmin: Actor;
  const shared = {} as Record<Caller, Actor>;
  let bannedProfileBeforeBan: number;
  let publishedShoutId: number;

  // --- how the cells talk to the app ---------------------------------------------------------

  function rest(method: 'get' | 'put' | 'post' | 'delete', path: string, actor?: Actor): Test {
    const req = t.http()[method](path);
    if (actor?.token) req.set('Authorization', `Bearer ${actor.token}`);
    return req;
  }

  function gql(query: string, variables: Record<string, unknown> = {}, actor?: Actor): Test {
    const req = t
      .http()
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set('Origin', t.baseUrl);
    if (actor?.token) req.set('Authorization', `Bearer ${actor.token}`);
    return req.send({ query, variables });
  }

  /** The first admin's GraphQL call, which must succeed (setup and after-the-fact checks). */
  async function asAdmin(query: string, variables: Record<string, unknown>): Promise<Data> {
    return dataOf(await gql(query, variables, rootAdmin));
  }

  const db = () => t.app.get(DataSource);
  async function count(sql: string, params: unknown[]): Promise<number> {
    const [{ n }] = (await db().query(`SELECT count(*)::int AS n FROM ${sql}`, params)) as {
      n: number;
    }[];
    return n;
  }

  /** Whether a bearer token still authenticates. */
  async function alive(token: string): Promise<boolean> {
    const res = await t.http().get('/auth/profile').set('Authorization', `Bearer ${token}`);
    expect([200, 401]).toContain(res.status);
    return res.status === 200;
  }

  async function loginStatus(email: string, password: string): Promise<number> {
    return (await t.http().post('/auth/login').send({ email, password, mode: 'bearer' })).status;
  }

  async function permissionsOf(token: string): Promise<string[]> {
    const res = await t
      .http()
      .get('/auth/profile')
      .set('Authorization', `Bearer ${token}`)
      .expect(200);
    return [...(res.body.permissions as string[])].sort();
  }

  async function followerIds(authorId: number): Promise<number[]> {
    const data = dataOf(await gql(FOLLOWERS, { authorId }));
    return (data.followers.nodes as { id: number }[]).map((node) => node.id);
  }

  /** A published shout by a throwaway author. */
  async function newShout(): Promise<number> {
    const author = await registerAuthor(t);
    const data = dataOf(
      await gql(
        CREATE_SHOUT,
        { input: { title: `Shout ${unique()}`, body: 'Matrix target' } },
        { caller: 'user', token: author.token },
      ),
    );
    return data.createShout.id;
  }

  /** Links an OAuth account straight in the database (the provider round trip is not the point here). */
  async function link(authorId: number, provider: string): Promise<string> {
    const providerId = `matrix-${unique()}`;
    await db().query(
      `INSERT INTO oauth_account (author_id, provider, provider_id, provider_email, created_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [
        authorId,
        provider,
        providerId,
        `${providerId}@mail.example.test`,
        Math.floor(Date.now() / 1000),
      ],
    );
    return providerId;
  }

  /** The code of the last SMS sent to `phone`. */
  function lastCodeTo(phone: string): string {
    const texts = sms.mock.calls.filter(([to]) => to === phone).map(([, text]) => text);
    const code = /\b(\d{6})\b/.exec(texts[texts.length - 1] ?? '')?.[1];
    expect(code).toBeDefined();
    return code!;
  }

  const smsCountTo = (phone: string) => sms.mock.calls.filter(([to]) => to === phone).length;

  /** A new caller of a role: registered, then promoted or banned by the first admin. */
  async function newActor(caller: Caller): Promise<Actor> {
    if (caller === 'anonymous') return { caller };
    const author = await registerAuthor(t, 'bearer');
    const actor: Actor = {
      caller,
      token: author.token,
      authorId: author.authorId,
      email: author.email,
      password: author.password,
    };
    if (caller === 'moderator' || caller === 'admin') {
      await asAdmin(ASSIGN_ROLE, { authorId: actor.authorId, role: caller });
    }
    if (caller === 'banned') {
      // The token is valid until the ban; the matrix then shows it is refused everywhere.
      await rest('get', '/auth/profile', actor).expect(200);
      await asAdmin(BAN, { authorId: actor.authorId, reason: 'access matrix' });
    }
    return actor;
  }

  beforeAll(async () => {
    t = await startTestApp();
    sms = jest.spyOn(t.app.get(SmsSender), 'send');

    const admin = newRegistration();
    await t.app.get(AdminBootstrapService).ensureAdmin(admin.email, admin.password);
    const signed = await login(t, admin.email, admin.password);
    rootAdmin = {
      caller: 'admin',
      token: signed.token,
      authorId: signed.body.author.id,
      email: admin.email,
      password: admin.password,
    };

    shared.anonymous = { caller: 'anonymous' };
    shared.admin = rootAdmin;
    shared.user = await newActor('user');
    shared.moderator = await newActor('moderator');
    const banned = await registerAuthor(t, 'bearer');
    shared.banned = {
      caller: 'banned',
      token: banned.token,
      authorId: banned.authorId,
      email: banned.email,
      password: banned.password,
    };
    bannedProfileBeforeBan = (await rest('get', '/auth/profile', shared.banned)).status;
    await asAdmin(BAN, { authorId: banned.authorId, reason: 'access matrix' });

    publishedShoutId = await newShout();
  });

  afterAll(async () => {
    sms?.mockRestore();
    await t?.close();
  });

  // --- the matrix ----------------------------------------------------------------------------

  /** DELETE /auth/sessions/:id and revokeSession: a live caller ends another session of its own;
   *  the others aim at somebody else's session, which must survive. */
  async function sessionToRevoke(actor: Actor): Promise<{ id: string; token: string }> {
    if (signedIn(actor)) {
      const other = await login(t, actor.email!, actor.password!);
      return { id: other.body.session.id, token: other.token! };
    }
    const victim = await registerAuthor(t);
    return { id: victim.body.session.id, token: victim.token! };
  }

  const ROWS: Row[] = [
    // REST routes of /auth that need a session
    row({
      api: 'REST',
      op: 'GET /auth/profile',
      expect: SESSION,
      send: (a) => rest('get', '/auth/profile', a),
      succeeded: (res, a) => {
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: a.authorId, email: a.email });
        expect(res.body.roles).toContain(a.caller);
      },
    }),
    row<{ bio: string }>({
      api: 'REST',
      op: 'PUT /auth/profile',
      expect: SESSION,
      prepare: async () => ({ bio: `bio ${unique()}` }),
      send: (a, { bio }) => rest('put', '/auth/profile', a).send({ bio }),
      succeeded: async (res, a, { bio }) => {
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: a.authorId, bio });
      },
      unchanged: async (_a, { bio }) => {
        expect(await count('author WHERE bio = $1', [bio])).toBe(0);
      },
    }),
    row({
      api: 'REST',
      op: 'POST /auth/refresh',
      expect: SESSION,
      fresh: true,
      send: (a) => rest('post', '/auth/refresh', a),
      succeeded: async (res, a) => {
        expect(res.status).toBe(200);
        expect(res.body.token).toEqual(expect.any(String));
        expect(await alive(res.body.token)).toBe(true);
        expect(await alive(a.token!)).toBe(false);
      },
      unchanged: async (a) => {
        // No session was issued to the banned author.
        if (a.authorId)
          expect(await t.app.get(SessionTokenManager).listSessions(a.authorId)).toEqual([]);
      },
    }),
    row<{ next: string }>({
      api: 'REST',
      op: 'POST /auth/change-password',
      expect: SESSION,
      fresh: true,
      prepare: async () => ({ next: `next-${unique()}-password` }),
      send: (a, { next }) =>
        rest('post', '/auth/change-password', a).send({
          old_password: a.password ?? 'not-the-password',
          new_password: next,
        }),
      succeeded: async (res, a, { next }) => {
        expect(res.status).toBe(204);
        expect(await loginStatus(a.email!, next)).toBe(200);
        expect(await loginStatus(a.email!, a.password!)).toBe(401);
      },
      unchanged: async (a, { next }) => {
        if (!a.email) return;
        // The old password is still right (refused as suspended: 403); the new one is just wrong.
        expect(await loginStatus(a.email, a.password!)).toBe(403);
        expect(await loginStatus(a.email, next)).toBe(401);
      },
    }),
    row({
      api: 'REST',
      op: 'GET /auth/sessions',
      expect: SESSION,
      send: (a) => rest('get', '/auth/sessions', a),
      succeeded: (res) => {
        expect(res.status).toBe(200);
        expect((res.body as { current: boolean }[]).filter((s) => s.current)).toHaveLength(1);
      },
    }),
    row<{ other?: string }>({
      api: 'REST',
      op: 'DELETE /auth/sessions',
      expect: SESSION,
      fresh: true,
      prepare: async (a) =>
        signedIn(a) ? { other: (await login(t, a.email!, a.password!)).token } : {},
      send: (a) => rest('delete', '/auth/sessions', a),
      succeeded: async (res, a, { other }) => {
        expect(res.status).toBe(204);
        expect(await alive(other!)).toBe(false);
        expect(await alive(a.token!)).toBe(true);
      },
    }),
    row<{ id: string; token: string }>({
      api: 'REST',
      op: 'DELETE /auth/sessions/:id',
      expect: SESSION,
      prepare: sessionToRevoke,
      send: (a, { id }) => rest('delete', `/auth/sessions/${id}`, a),
      succeeded: async (res, _a, { token }) => {
        expect(res.status).toBe(204);
        expect(await alive(token)).toBe(false);
      },
      unchanged: async (_a, { token }) => {
        expect(await alive(token)).toBe(true);
      },
    }),
    row({
      api: 'REST',
      op: 'POST /auth/verify-email/request',
      expect: SESSION,
      // A registered (unverified) caller each time: the first admin's address is verified (409).
      fresh: true,
      send: (a) => rest('post', '/auth/verify-email/request', a),
      succeeded: (res) => {
        expect(res.status).toBe(202);
      },
    }),
    row<{ phone: string }>({
      api: 'REST',
      op: 'POST /auth/phone/request',
      expect: SESSION,
      prepare: async () => ({ phone: newPhone() }),
      send: (a, { phone }) => rest('post', '/auth/phone/request', a).send({ phone }),
      succeeded: (res, _a, { phone }) => {
        expect(res.status).toBe(202);
        expect(smsCountTo(phone)).toBe(1);
      },
      unchanged: async (_a, { phone }) => {
        expect(smsCountTo(phone)).toBe(0);
      },
    }),
    row<{ phone: string; code: string }>({
      api: 'REST',
      op: 'POST /auth/phone/confirm',
      expect: SESSION,
      prepare: async (a) => {
        const phone = newPhone();
        if (!a.authorId) return { phone, code: '123456' };
        // A code pending for the caller (set up directly: the banned caller's token is dead).
        await t.app.get(PhoneVerificationService).request(a.authorId, phone);
        return { phone, code: lastCodeTo(phone) };
      },
      send: (a, body) => rest('post', '/auth/phone/confirm', a).send(body),
      succeeded: (res, _a, { phone }) => {
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ phone, phone_verified: true });
      },
      unchanged: async (_a, { phone }) => {
        expect(await count('author WHERE phone = $1 AND phone_verified', [phone])).toBe(0);
      },
    }),
    row<{ providerId?: string }>({
      api: 'REST',
      op: 'GET /auth/accounts',
      expect: SESSION,
      prepare: async (a) => (a.authorId ? { providerId: await link(a.authorId, 'google') } : {}),
      send: (a) => rest('get', '/auth/accounts', a),
      succeeded: (res, _a, { providerId }) => {
        expect(res.status).toBe(200);
        expect(res.body).toEqual([
          expect.objectContaining({ provider: 'google', provider_id: providerId }),
        ]);
      },
    }),
    row<{ providerId: string }>({
      api: 'REST',
      op: 'DELETE /auth/accounts/:provider',
      expect: SESSION,
      // The anonymous caller has no account: a throwaway author's link is what must survive.
      prepare: async (a) => ({
        providerId: await link(a.authorId ?? (await registerAuthor(t)).authorId, 'github'),
      }),
      send: (a) => rest('delete', '/auth/accounts/github', a),
      succeeded: async (res, _a, { providerId }) => {
        expect(res.status).toBe(204);
        expect(await count('oauth_account WHERE provider_id = $1', [providerId])).toBe(0);
      },
      unchanged: async (_a, { providerId }) => {
        expect(await count('oauth_account WHERE provider_id = $1', [providerId])).toBe(1);
      },
    }),

    // REST routes open to everyone
    row<{ email: string; password: string }>({
      api: 'REST',
      op: 'POST /auth/register',
      expect: PUBLIC,
      prepare: async () => newRegistration(),
      send: (a, registration) =>
        rest('post', '/auth/register', a).send({ ...registration, mode: 'bearer' }),
      succeeded: (res, _a, { email }) => {
        expect(res.status).toBe(201);
        expect(res.body.author.email).toBe(email);
      },
    }),
    row<{ email: string; password: string; authorId: number }>({
      api: 'REST',
      op: 'POST /auth/login',
      expect: PUBLIC,
      prepare: async () => registerAuthor(t),
      send: (a, { email, password }) =>
        rest('post', '/auth/login', a).send({ email, password, mode: 'bearer' }),
      succeeded: (res, _a, { authorId }) => {
        expect(res.status).toBe(200);
        expect(res.body.author.id).toBe(authorId);
      },
    }),
    row({
      api: 'REST',
      op: 'POST /auth/logout',
      expect: PUBLIC,
      fresh: true,
      send: (a) => rest('post', '/auth/logout', a),
      succeeded: async (res, a) => {
        expect(res.status).toBe(204);
        if (a.token) expect(await alive(a.token)).toBe(false);
      },
    }),

    // GraphQL operations that need a session
    row({
      api: 'GraphQL',
      op: 'me',
      expect: SESSION,
      send: (a) => gql('query { me { id email roles } }', {}, a),
      succeeded: (res, a) => {
        const { me } = dataOf(res);
        expect(me).toMatchObject({ id: a.authorId, email: a.email });
        expect(me.roles).toContain(a.caller);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'mySessions',
      expect: SESSION,
      send: (a) => gql('query { mySessions { id current } }', {}, a),
      succeeded: (res) => {
        const sessions = dataOf(res).mySessions as { current: boolean }[];
        expect(sessions.filter((s) => s.current)).toHaveLength(1);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'notifications',
      expect: SESSION,
      send: (a) => gql('query { notifications(first: 5) { nodes { id } } }', {}, a),
      succeeded: (res) => {
        expect(dataOf(res).notifications.nodes).toEqual(expect.any(Array));
      },
    }),
    row({
      api: 'GraphQL',
      op: 'unseenNotificationsCount',
      expect: SESSION,
      send: (a) => gql('query { unseenNotificationsCount }', {}, a),
      succeeded: (res) => {
        expect(dataOf(res).unseenNotificationsCount).toEqual(expect.any(Number));
      },
    }),
    row<{ id: string; recipient: number }>({
      api: 'GraphQL',
      op: 'markNotificationsSeen',
      expect: SESSION,
      // A notification of the caller's own when signed in, else a throwaway author's, which a
      // refused call must leave unseen.
      prepare: async (a) => {
        const recipient =
          a.authorId && signedIn(a) ? a.authorId : (await registerAuthor(t)).authorId;
        const stored = await t.app.get(NotifyService).notify(recipient, 'matrix', 'create', 'test');
        return { id: String(stored.id), recipient };
      },
      send: (a, { id }) =>
        gql('mutation Seen($ids: [ID!]!) { markNotificationsSeen(ids: $ids) }', { ids: [id] }, a),
      succeeded: (res) => {
        expect(dataOf(res).markNotificationsSeen).toBe(1);
      },
      unchanged: async (_a, { id }) => {
        expect(await count('notification WHERE id = $1 AND seen_at IS NULL', [id])).toBe(1);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'markAllNotificationsSeen',
      expect: SESSION,
      send: (a) => gql('mutation { markAllNotificationsSeen }', {}, a),
      succeeded: (res) => {
        expect(dataOf(res).markAllNotificationsSeen).toEqual(expect.any(Number));
      },
    }),
    row({
      api: 'REST',
      op: 'POST /sse/ticket',
      expect: SESSION,
      send: (a) => rest('post', '/sse/ticket', a),
      succeeded: (res) => {
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ ticket: expect.any(String), expires_in: 30 });
      },
    }),
    row<{ bio: string }>({
      api: 'GraphQL',
      op: 'updateProfile',
      expect: SESSION,
      prepare: async () => ({ bio: `bio ${unique()}` }),
      send: (a, { bio }) =>
        gql(
          'mutation Update($input: UpdateProfileInput!) { updateProfile(input: $input) { id bio } }',
          { input: { bio } },
          a,
        ),
      succeeded: async (res, a, { bio }) => {
        expect(dataOf(res).updateProfile).toEqual({ id: a.authorId, bio });
        expect(dataOf(await gql(AUTHOR_BIO, { id: a.authorId })).author.bio).toBe(bio);
      },
      unchanged: async (_a, { bio }) => {
        expect(await count('author WHERE bio = $1', [bio])).toBe(0);
      },
    }),
    row<{ next: string }>({
      api: 'GraphQL',
      op: 'changePassword',
      expect: SESSION,
      fresh: true,
      prepare: async () => ({ next: `next-${unique()}-password` }),
      send: (a, { next }) =>
        gql(
          'mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) }',
          { input: { oldPassword: a.password ?? 'not-the-password', newPassword: next } },
          a,
        ),
      succeeded: async (res, a, { next }) => {
        expect(dataOf(res).changePassword).toBe(true);
        expect(await loginStatus(a.email!, next)).toBe(200);
        expect(await loginStatus(a.email!, a.password!)).toBe(401);
      },
      unchanged: async (a, { next }) => {
        if (!a.email) return;
        expect(await loginStatus(a.email, a.password!)).toBe(403);
        expect(await loginStatus(a.email, next)).toBe(401);
      },
    }),
    row<{ id: string; token: string }>({
      api: 'GraphQL',
      op: 'revokeSession',
      expect: SESSION,
      prepare: sessionToRevoke,
      send: (a, { id }) => gql('mutation Revoke($id: ID!) { revokeSession(id: $id) }', { id }, a),
      succeeded: async (res, _a, { token }) => {
        expect(dataOf(res).revokeSession).toBe(true);
        expect(await alive(token)).toBe(false);
      },
      unchanged: async (_a, { token }) => {
        expect(await alive(token)).toBe(true);
      },
    }),
    row<{ target: number }>({
      api: 'GraphQL',
      op: 'follow',
      expect: SESSION,
      prepare: async () => ({ target: (await registerAuthor(t)).authorId }),
      send: (a, { target }) =>
        gql('mutation Follow($id: Int!) { follow(authorId: $id) }', { id: target }, a),
      succeeded: async (res, a, { target }) => {
        expect(dataOf(res).follow).toBe(true);
        expect(await followerIds(target)).toEqual([a.authorId]);
      },
      unchanged: async (_a, { target }) => {
        expect(await followerIds(target)).toEqual([]);
      },
    }),
    row<{ target: number; follower: number }>({
      api: 'GraphQL',
      op: 'unfollow',
      expect: SESSION,
      // The caller follows the target (the anonymous caller cannot: a throwaway follower stands in).
      prepare: async (a) => {
        const target = (await registerAuthor(t)).authorId;
        const follower = a.authorId ?? (await registerAuthor(t)).authorId;
        await t.app.get(FollowsService).follow(follower, target);
        return { target, follower };
      },
      send: (a, { target }) =>
        gql('mutation Unfollow($id: Int!) { unfollow(authorId: $id) }', { id: target }, a),
      succeeded: async (res, _a, { target }) => {
        expect(dataOf(res).unfollow).toBe(true);
        expect(await followerIds(target)).toEqual([]);
      },
      unchanged: async (_a, { target, follower }) => {
        expect(await followerIds(target)).toEqual([follower]);
      },
    }),
    row<{ title: string }>({
      api: 'GraphQL',
      op: 'createShout',
      expect: WRITE,
      permission: 'write',
      prepare: async () => ({ title: `Shout ${unique()}` }),
      send: (a, { title }) => gql(CREATE_SHOUT, { input: { title, body: 'Matrix body' } }, a),
      succeeded: async (res, a, { title }) => {
        const shout = dataOf(res).createShout;
        expect(shout).toMatchObject({ authorId: a.authorId, title, unpublishedAt: null });
        expect(dataOf(await gql(GET_SHOUT, { id: shout.id })).shout.title).toBe(title);
      },
      unchanged: async (_a, { title }) => {
        expect(await count('shout WHERE title = $1', [title])).toBe(0);
      },
    }),

    // GraphQL operations that need a permission beyond `user`
    row<{ id: number }>({
      api: 'GraphQL',
      op: 'unpublishShout',
      expect: MODERATE,
      permission: 'moderate',
      prepare: async () => ({ id: await newShout() }),
      send: (a, { id }) =>
        gql(
          `mutation Unpublish($id: Int!, $reason: String!) {
            unpublishShout(id: $id, reason: $reason) { ${SHOUT} } }`,
          { id, reason: 'matrix' },
          a,
        ),
      succeeded: async (res, _a, { id }) => {
        expect(dataOf(res).unpublishShout).toMatchObject({
          id,
          unpublishedAt: expect.any(Number),
          unpublishReason: 'matrix',
        });
        const publicView = await gql(GET_SHOUT, { id });
        expect(publicView.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      },
      unchanged: async (_a, { id }) => {
        expect(dataOf(await gql(GET_SHOUT, { id })).shout).toMatchObject({
          id,
          unpublishedAt: null,
          unpublishReason: null,
        });
      },
    }),
    row({
      api: 'GraphQL',
      op: 'authors',
      expect: ADMIN,
      permission: 'admin',
      send: (a) =>
        gql(
          'query Authors($search: String) { authors(search: $search, first: 5) { nodes { id roles } } }',
          { search: a.email ?? 'example.test' },
          a,
        ),
      succeeded: (res, a) => {
        const { nodes } = dataOf(res).authors;
        expect(nodes).toEqual([{ id: a.authorId, roles: expect.arrayContaining(['admin']) }]);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'roles',
      expect: ADMIN,
      permission: 'admin',
      send: (a) => gql('query { roles { id permissions } }', {}, a),
      succeeded: (res) => {
        // README, "Roles and permissions".
        expect(dataOf(res).roles).toEqual(
          expect.arrayContaining([
            { id: 'user', permissions: ['read', 'write'] },
            { id: 'moderator', permissions: ['moderate', 'read', 'write'] },
            { id: 'admin', permissions: ['admin', 'moderate', 'read', 'write'] },
          ]),
        );
      },
    }),
    row<{ target: number; token: string }>({
      api: 'GraphQL',
      op: 'assignRole',
      expect: ADMIN,
      permission: 'admin',
      prepare: async () => {
        const target = await registerAuthor(t);
        return { target: target.authorId, token: target.token! };
      },
      send: (a, { target }) => gql(ASSIGN_ROLE, { authorId: target, role: 'moderator' }, a),
      succeeded: async (res, _a, { token }) => {
        expect(dataOf(res).assignRole.roles).toContain('moderator');
        expect(await permissionsOf(token)).toEqual(['moderate', 'read', 'write']);
      },
      unchanged: async (_a, { token }) => {
        expect(await permissionsOf(token)).toEqual(['read', 'write']);
      },
    }),
    row<{ target: number; token: string }>({
      api: 'GraphQL',
      op: 'removeRole',
      expect: ADMIN,
      permission: 'admin',
      prepare: async () => {
        const target = await registerAuthor(t);
        await asAdmin(ASSIGN_ROLE, { authorId: target.authorId, role: 'moderator' });
        return { target: target.authorId, token: target.token! };
      },
      send: (a, { target }) => gql(REMOVE_ROLE, { authorId: target, role: 'moderator' }, a),
      succeeded: async (res, _a, { token }) => {
        expect(dataOf(res).removeRole.roles).not.toContain('moderator');
        expect(await permissionsOf(token)).toEqual(['read', 'write']);
      },
      unchanged: async (_a, { token }) => {
        expect(await permissionsOf(token)).toEqual(['moderate', 'read', 'write']);
      },
    }),
    row<{ target: number; token: string }>({
      api: 'GraphQL',
      op: 'banAuthor',
      expect: ADMIN,
      permission: 'admin',
      prepare: async () => {
        const target = await registerAuthor(t);
        return { target: target.authorId, token: target.token! };
      },
      send: (a, { target }) => gql(BAN, { authorId: target, reason: 'matrix' }, a),
      succeeded: async (res, _a, { token }) => {
        expect(dataOf(res).banAuthor.bannedAt).toEqual(expect.any(Number));
        expect(await alive(token)).toBe(false);
      },
      unchanged: async (_a, { token }) => {
        expect(await alive(token)).toBe(true);
      },
    }),
    row<{ target: number; email: string; password: string }>({
      api: 'GraphQL',
      op: 'unbanAuthor',
      expect: ADMIN,
      permission: 'admin',
      prepare: async () => {
        const target = await registerAuthor(t);
        await asAdmin(BAN, { authorId: target.authorId });
        return { target: target.authorId, email: target.email, password: target.password };
      },
      send: (a, { target }) => gql(UNBAN, { authorId: target }, a),
      succeeded: async (res, _a, { email, password }) => {
        expect(dataOf(res).unbanAuthor.bannedAt).toBeNull();
        expect(await loginStatus(email, password)).toBe(200);
      },
      unchanged: async (_a, { email, password }) => {
        expect(await loginStatus(email, password)).toBe(403);
      },
    }),
    row<{ target: number; token: string }>({
      api: 'GraphQL',
      op: 'revokeAuthorSessions',
      expect: ADMIN,
      permission: 'admin',
      prepare: async () => {
        const target = await registerAuthor(t);
        return { target: target.authorId, token: target.token! };
      },
      send: (a, { target }) =>
        gql(
          'mutation Revoke($authorId: Int!) { revokeAuthorSessions(authorId: $authorId) }',
          { authorId: target },
          a,
        ),
      succeeded: async (res, _a, { token }) => {
        expect(dataOf(res).revokeAuthorSessions).toBe(1);
        expect(await alive(token)).toBe(false);
      },
      unchanged: async (_a, { token }) => {
        expect(await alive(token)).toBe(true);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'auditLog',
      expect: ADMIN,
      permission: 'admin',
      send: (a) => gql('query { auditLog(first: 5) { nodes { id type } } }', {}, a),
      succeeded: (res) => {
        const { nodes } = dataOf(res).auditLog;
        expect(nodes.length).toBeGreaterThanOrEqual(1);
        expect(nodes.length).toBeLessThanOrEqual(5);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'tokenStats',
      expect: ADMIN,
      permission: 'admin',
      send: (a) => gql('query { tokenStats { session verification } }', {}, a),
      succeeded: (res) => {
        expect(dataOf(res).tokenStats.session).toBeGreaterThanOrEqual(1);
      },
    }),

    // GraphQL operations open to everyone
    row({
      api: 'GraphQL',
      op: 'shouts',
      expect: PUBLIC,
      send: (a) => gql('query { shouts(first: 100) { nodes { id } } }', {}, a),
      succeeded: (res) => {
        const ids = (dataOf(res).shouts.nodes as { id: number }[]).map((node) => node.id);
        expect(ids).toContain(publishedShoutId);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'shout',
      expect: PUBLIC,
      send: (a) => gql(GET_SHOUT, { id: publishedShoutId }, a),
      succeeded: (res) => {
        expect(dataOf(res).shout).toMatchObject({ id: publishedShoutId, unpublishedAt: null });
      },
    }),
    row({
      api: 'GraphQL',
      op: 'author',
      expect: PUBLIC,
      send: (a) => gql(AUTHOR_BIO, { id: shared.user.authorId }, a),
      succeeded: (res) => {
        expect(dataOf(res).author.id).toBe(shared.user.authorId);
      },
    }),
    row<{ target: number; follower: number }>({
      api: 'GraphQL',
      op: 'followers',
      expect: PUBLIC,
      prepare: async () => {
        const [target, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
        await t.app.get(FollowsService).follow(follower.authorId, target.authorId);
        return { target: target.authorId, follower: follower.authorId };
      },
      send: (a, { target }) => gql(FOLLOWERS, { authorId: target }, a),
      succeeded: (res, _a, { follower }) => {
        expect(dataOf(res).followers.nodes).toEqual([{ id: follower }]);
      },
    }),
    row<{ email: string; password: string; authorId: number }>({
      api: 'GraphQL',
      op: 'login',
      expect: PUBLIC,
      prepare: async () => registerAuthor(t),
      send: (a, { email, password }) =>
        gql(
          'mutation Login($input: LoginInput!) { login(input: $input) { token author { id } } }',
          { input: { email, password, mode: 'bearer' } },
          a,
        ),
      succeeded: (res, _a, { authorId }) => {
        const { login: payload } = dataOf(res);
        expect(payload.author.id).toBe(authorId);
        expect(payload.token).toEqual(expect.any(String));
      },
    }),
    row<{ email: string; password: string }>({
      api: 'GraphQL',
      op: 'register',
      expect: PUBLIC,
      prepare: async () => newRegistration(),
      send: (a, { email, password }) =>
        gql(
          'mutation Register($input: RegisterInput!) { register(input: $input) { author { email } } }',
          { input: { email, password, mode: 'bearer' } },
          a,
        ),
      succeeded: (res, _a, { email }) => {
        expect(dataOf(res).register.author.email).toBe(email);
      },
    }),
    row({
      api: 'GraphQL',
      op: 'logout',
      expect: PUBLIC,
      fresh: true,
      send: (a) => gql('mutation { logout }', {}, a),
      succeeded: async (res, a) => {
        expect(dataOf(res).logout).toBe(true);
        if (a.token) expect(await alive(a.token)).toBe(false);
      },
    }),
  ];

  /** Refused the way the README ("Roles and permissions") says: 401/403 over REST, UNAUTHENTICATED/FORBIDDEN in GraphQL. */
  function expectOutcome(r: Row, res: Response, outcome: Outcome): void {
    if (r.api === 'REST') {
      if (outcome === 'ok') {
        expect([401, 403]).not.toContain(res.status);
        return;
      }
      expect(res.status).toBe(outcome);
      expect(res.body.statusCode).toBe(outcome);
      if (outcome === 403) expect(res.body.message).toBe(`Missing permission: ${r.permission}`);
      return;
    }
    const errors = (res.body.errors ?? []) as { message: string; extensions?: { code?: string } }[];
    const codes = errors.map((error) => error.extensions?.code);
    if (outcome === 'ok') {
      expect(codes).not.toContain('UNAUTHENTICATED');
      expect(codes).not.toContain('FORBIDDEN');
      return;
    }
    expect(codes).toEqual([outcome === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN']);
    expect(res.body.data).toBeNull();
    if (outcome === 403) expect(errors[0].message).toBe(`Missing permission: ${r.permission}`);
  }

  for (const r of ROWS) {
    for (const caller of CALLERS) {
      const outcome = r.expect[caller];
      it(`${r.api} ${r.op} as ${caller} → ${outcome}`, async () => {
        const actor = r.fresh ? await newActor(caller) : shared[caller];
        const ctx = r.prepare ? await r.prepare(actor) : undefined;
        const res = await r.send(actor, ctx);
        expectOutcome(r, res, outcome);
        if (outcome === 'ok') await r.succeeded(res, actor, ctx);
        else await r.unchanged?.(actor, ctx);
      });
    }
  }

  // --- the callers and the matrix itself -----------------------------------------------------

  describe('the callers', () => {
    it('user, moderator and admin hold exactly the permissions of their role (README, "Roles and permissions")', async () => {
      expect(await permissionsOf(shared.user.token!)).toEqual(['read', 'write']);
      expect(await permissionsOf(shared.moderator.token!)).toEqual(['moderate', 'read', 'write']);
      expect(await permissionsOf(shared.admin.token!)).toEqual([
        'admin',
        'moderate',
        'read',
        'write',
      ]);
    });

    it('the banned token worked before the ban, which revoked its sessions and closed sign-in', async () => {
      expect(bannedProfileBeforeBan).toBe(200);
      expect(await t.app.get(SessionTokenManager).listSessions(shared.banned.authorId!)).toEqual(
        [],
      );
      const res = await t
        .http()
        .post('/auth/login')
        .send({ email: shared.banned.email, password: shared.banned.password, mode: 'bearer' });
      expect(res.status).toBe(403);
      expect(res.body.token).toBeUndefined();
    });
  });

  it('has a row for every REST route and GraphQL operation that is not public', () => {
    const inMatrix = new Set(ROWS.map((r) => `${r.api} ${r.op}`));
    // The stream authenticates itself (`self:`); test/sse/sse.e2e-spec.ts covers who may open it.
    const missing = accessTable(t.app)
      .filter((entry) => entry.access !== 'public' && !entry.access.startsWith('self:'))
      .map((entry) => entry.entry.replace(/^GraphQL (Query|Mutation|Subscription) /, 'GraphQL '))
      .filter((entry) => !inMatrix.has(entry));
    expect(missing).toEqual([]);
  });
});
