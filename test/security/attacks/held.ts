import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import type { Response } from 'supertest';
import {
  login,
  newRegistration,
  registerAuthor,
  setCookies,
  type SignedIn,
} from '../../support/auth';
import { dataOf, errorCode, type Data } from '../../support/graphql';
import { openRawStream, type RawStream } from '../../support/sse-client';
import type { TestApp } from '../../support/test-app';
import { waitFor } from '../../support/wait-for';
import type { Attack, AttackContext } from '../attack';
import { appSecret, claimsOf, hs256, nowSeconds, segment } from '../forged-tokens';

// What the outside review tried and found refused. Each row sends the attack over HTTP as an
// outsider would, asserts the exact refusal, and reads back what the attack meant to change.

const EVIL = 'https://evil.example';
const CORS_ALLOWED = 'https://app.example.com';

/** A value made on first use and shared by the rows of a group for the rest of the suite. */
function once<T>(make: (ctx: AttackContext) => Promise<T>): (ctx: AttackContext) => Promise<T> {
  let made: Promise<T> | undefined;
  return (ctx) => (made ??= make(ctx));
}

/** CORS_ORIGINS for the CORS rows; a trusted proxy so that a row can speak from another IP. */
const proxiedApp = once((ctx) => ctx.boot({ CORS_ORIGINS: CORS_ALLOWED, TRUST_PROXY: 'true' }));
const shortTicketApp = once((ctx) => ctx.boot({ SSE_TICKET_TTL_S: '1' }));

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const unique = () => randomBytes(4).toString('hex');

/** The victim's profile as they read it themselves (REST, with their own bearer token). */
async function profileOf(t: TestApp, token: string): Promise<Data> {
  const res = await t.http().get('/auth/profile').set(bearer(token));
  expect(res.status).toBe(200);
  return res.body;
}

/** The profile as a cookie session reads it (a GET needs no Origin). */
async function cookieProfileOf(t: TestApp, cookie: string): Promise<Data> {
  const res = await t.http().get('/auth/profile').set('Cookie', cookie);
  expect(res.status).toBe(200);
  return res.body;
}

async function loginStatus(t: TestApp, email: string, password: string): Promise<number> {
  return (await t.http().post('/auth/login').send({ email, password, mode: 'bearer' })).status;
}

function graphql(t: TestApp, token: string, query: string, variables: Data = {}) {
  return t.http().post('/graphql').set(bearer(token)).send({ query, variables });
}

// ---------------------------------------------------------------- forged and dead session tokens

const jwtVictim = once((ctx) => registerAuthor(ctx.app, 'bearer'));

/**
 * A token signed with the app's own secret for the victim's live session is accepted: so a refusal
 * of the same construction with one claim changed is a refusal of that claim, not of the signer.
 */
async function expectOwnSignerAccepted(t: TestApp, victim: SignedIn): Promise<void> {
  const now = nowSeconds();
  const genuine = hs256(appSecret(t), { ...claimsOf(victim.token!), iat: now, exp: now + 3600 });
  expect((await profileOf(t, genuine)).id).toBe(victim.authorId);
}

/**
 * Presents `forged` wherever a session token goes: the read (bearer and cookie) and the write it
 * would open are 401, and the victim's profile reads the same before and after.
 */
async function expectTokenRefused(t: TestApp, victim: SignedIn, forged: string): Promise<void> {
  const before = await profileOf(t, victim.token!);
  const read = await t.http().get('/auth/profile').set(bearer(forged));
  expect(read.status).toBe(401);
  expect(read.body).toMatchObject({ statusCode: 401 });
  const byCookie = await t
    .http()
    .get('/auth/profile')
    .set('Cookie', `${t.config.cookie.name}=${forged}`);
  expect(byCookie.status).toBe(401);
  const write = await t
    .http()
    .put('/auth/profile')
    .set(bearer(forged))
    .send({ name: `Forged ${unique()}`, bio: 'written with a forged token' });
  expect(write.status).toBe(401);
  expect(await profileOf(t, victim.token!)).toEqual(before);
}

const jwtAttacks: Attack[] = [
  {
    name: 'JWT with alg "none" (and its case variants) and no signature',
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const payload = segment(claimsOf(victim.token!));
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        await expectTokenRefused(ctx.app, victim, `${segment({ alg, typ: 'JWT' })}.${payload}.`);
      }
    },
  },
  {
    name: 'JWT re-signed (HS256) with guessed secrets',
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const claims = claimsOf(victim.token!);
      const guesses = [
        'secret',
        'changeme',
        'change-me',
        'jwt-secret',
        'your-secret-here',
        'tessera',
      ];
      for (const guess of guesses) await expectTokenRefused(ctx.app, victim, hs256(guess, claims));
    },
  },
  {
    name: "JWT payload tampered (user_id → the victim's; exp extended) under the attacker's own signature",
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const attacker = await registerAuthor(ctx.app, 'bearer');
      const [header, payload, signature] = attacker.token!.split('.');
      const claims = claimsOf(attacker.token!);
      const impersonating = segment({ ...claims, user_id: victim.authorId });
      expect(impersonating).not.toBe(payload);
      await expectTokenRefused(ctx.app, victim, `${header}.${impersonating}.${signature}`);
      // A longer life for the attacker's own session: its Redis entry exists, so only the
      // signature check stands between this token and a 200.
      const extended = segment({ ...claims, exp: claims.exp + 10 * 365 * 86_400 });
      const res = await ctx.app
        .http()
        .get('/auth/profile')
        .set(bearer(`${header}.${extended}.${signature}`));
      expect(res.status).toBe(401);
      // The same signature over the untouched payload is the attacker's own, working session.
      expect((await profileOf(ctx.app, attacker.token!)).id).toBe(attacker.authorId);
    },
  },
  {
    name: 'JWT with another algorithm: RS256 signed by the attacker, key embedded in the header',
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const header = {
        alg: 'RS256',
        typ: 'JWT',
        kid: 'attacker',
        jwk: publicKey.export({ format: 'jwk' }),
      };
      const input = `${segment(header)}.${segment(claimsOf(victim.token!))}`;
      const signature = sign('sha256', Buffer.from(input), privateKey).toString('base64url');
      await expectTokenRefused(ctx.app, victim, `${input}.${signature}`);
    },
  },
  {
    name: 'expired JWT of a live session, signed with the app secret',
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const now = nowSeconds();
      const claims = { ...claimsOf(victim.token!), iat: now - 7200, exp: now - 3600 };
      await expectTokenRefused(ctx.app, victim, hs256(appSecret(ctx.app), claims));
      await expectOwnSignerAccepted(ctx.app, victim);
    },
  },
  {
    name: 'JWT of a session that was signed out (POST /auth/logout)',
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const { token } = await login(ctx.app, victim.email, victim.password, 'bearer');
      expect((await profileOf(ctx.app, token!)).id).toBe(victim.authorId);
      await ctx.app.http().post('/auth/logout').set(bearer(token!)).expect(204);
      await expectTokenRefused(ctx.app, victim, token!);
    },
  },
  {
    name: 'validly signed JWT whose jti names no session',
    status: 'held',
    run: async (ctx) => {
      const victim = await jwtVictim(ctx);
      const now = nowSeconds();
      const claims = { ...claimsOf(victim.token!), jti: randomUUID(), iat: now, exp: now + 3600 };
      await expectTokenRefused(ctx.app, victim, hs256(appSecret(ctx.app), claims));
      await expectOwnSignerAccepted(ctx.app, victim);
    },
  },
];

// ---------------------------------------------------------------------------------------- CSRF

const csrfVictim = once((ctx) => registerAuthor(ctx.app, 'cookie'));

const CROSS_SITE: [string, Record<string, string>][] = [
  [`Origin: ${EVIL}`, { Origin: EVIL }],
  ['Origin: null', { Origin: 'null' }],
  ['a foreign Referer', { Referer: `${EVIL}/phish?next=/settings` }],
  ['neither Origin nor Referer', {}],
];

const csrfAttacks: Attack[] = CROSS_SITE.flatMap(([label, headers]): Attack[] => [
  {
    name: `CSRF: cookie POST /auth/change-password with ${label}`,
    status: 'held',
    run: async (ctx) => {
      const victim = await csrfVictim(ctx);
      const attempted = `pwned-${unique()}-password`;
      // The real old password, so that only the origin rule can be what refuses it.
      const res = await ctx.app
        .http()
        .post('/auth/change-password')
        .set('Cookie', victim.cookie!)
        .set(headers)
        .send({ old_password: victim.password, new_password: attempted });
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/Origin/);
      expect(await loginStatus(ctx.app, victim.email, victim.password)).toBe(200);
      expect(await loginStatus(ctx.app, victim.email, attempted)).toBe(401);
    },
  },
  {
    name: `CSRF: cookie PUT /auth/profile with ${label}`,
    status: 'held',
    run: async (ctx) => {
      const victim = await csrfVictim(ctx);
      const before = await cookieProfileOf(ctx.app, victim.cookie!);
      const res = await ctx.app
        .http()
        .put('/auth/profile')
        .set('Cookie', victim.cookie!)
        .set(headers)
        .send({ name: 'Pwned', bio: 'cross-site' });
      expect(res.status).toBe(403);
      expect(res.body.message).toMatch(/Origin/);
      expect(await cookieProfileOf(ctx.app, victim.cookie!)).toEqual(before);
    },
  },
]);

const PWN_PROFILE =
  'mutation { updateProfile(input: { name: "Pwned", bio: "cross-site" }) { name } }';

csrfAttacks.push(
  {
    name: `CSRF: GraphQL mutation by cookie from ${EVIL} as a "simple" text/plain POST`,
    status: 'held',
    run: async (ctx) => {
      const victim = await csrfVictim(ctx);
      const before = await cookieProfileOf(ctx.app, victim.cookie!);
      const res = await ctx.app
        .http()
        .post('/graphql')
        .set('Cookie', victim.cookie!)
        .set('Origin', EVIL)
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify({ query: PWN_PROFILE }));
      expect(res.status).toBe(403);
      expect(res.body.data).toBeUndefined();
      expect(await cookieProfileOf(ctx.app, victim.cookie!)).toEqual(before);
    },
  },
  {
    name: 'CSRF: GraphQL mutation by cookie as a cross-site GET (link or <img>, no Origin)',
    status: 'held',
    run: async (ctx) => {
      const victim = await csrfVictim(ctx);
      const before = await cookieProfileOf(ctx.app, victim.cookie!);
      const res = await ctx.app
        .http()
        .get('/graphql')
        .query({ query: PWN_PROFILE })
        .set('Cookie', victim.cookie!)
        .set('Referer', `${EVIL}/cats`);
      // Apollo's CSRF prevention refuses a GET that a browser could send without a preflight.
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/Cross-Site Request Forgery/);
      expect(await cookieProfileOf(ctx.app, victim.cookie!)).toEqual(before);
    },
  },
);

// ---------------------------------------------------------------------------------------- CORS

const corsVictim = once(async (ctx) => registerAuthor(await proxiedApp(ctx), 'cookie'));

/** Preflight for a credentialed PUT, then the credentialed read itself, from `origin`. */
async function corsExchange(t: TestApp, cookie: string, origin: string) {
  const preflight = await t
    .http()
    .options('/auth/profile')
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'PUT')
    .set('Access-Control-Request-Headers', 'content-type');
  const read = await t.http().get('/auth/profile').set('Origin', origin).set('Cookie', cookie);
  return { preflight, read };
}

function expectNoCorsGrant(res: Response): void {
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
  expect(res.headers['access-control-allow-credentials']).toBeUndefined();
}

const CORS_TRICKS = [
  'https://app.example.com.evil.com',
  'https://evilapp.example.com',
  'http://app.example.com',
  'null',
];

const corsAttacks: Attack[] = CORS_TRICKS.map((origin): Attack => ({
  name: `CORS: Origin ${origin} against CORS_ORIGINS=${CORS_ALLOWED}`,
  status: 'held',
  run: async (ctx) => {
    const t = await proxiedApp(ctx);
    const victim = await corsVictim(ctx);
    const before = await cookieProfileOf(t, victim.cookie!);

    const { preflight, read } = await corsExchange(t, victim.cookie!, origin);
    expectNoCorsGrant(preflight);
    expectNoCorsGrant(read);
    // The origin rule reads the same list: the look-alike cannot write with the cookie either.
    const write = await t
      .http()
      .put('/auth/profile')
      .set('Origin', origin)
      .set('Cookie', victim.cookie!)
      .send({ name: 'Pwned' });
    expect(write.status).toBe(403);
    expect(await cookieProfileOf(t, victim.cookie!)).toEqual(before);

    // Control: the listed origin is granted, so the absence above is a refusal.
    const allowed = await corsExchange(t, victim.cookie!, CORS_ALLOWED);
    for (const res of [allowed.preflight, allowed.read]) {
      expect(res.headers['access-control-allow-origin']).toBe(CORS_ALLOWED);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
    }
  },
}));

// ----------------------------------------------------------------------------------------- SSE

const streamUrl = (t: TestApp, ticket?: string) => {
  const url = new URL('/sse/notifications', t.baseUrl);
  if (ticket !== undefined) url.searchParams.set('ticket', ticket);
  return url;
};

async function ticketFor(t: TestApp, token: string, headers: Record<string, string> = {}) {
  const res = await t.http().post('/sse/ticket').set(bearer(token)).set(headers);
  expect(res.status).toBe(200);
  return res.body.ticket as string;
}

/** A refusal with a JSON error body, and not one event of the stream. */
async function expectStreamRefused(stream: RawStream, status: number): Promise<void> {
  try {
    expect(stream.status).toBe(status);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    expect(await stream.json()).toMatchObject({ statusCode: status });
    expect(stream.dataFrames).toEqual([]);
  } finally {
    stream.close();
  }
}

/** Opens a stream the owner is entitled to and waits for its `connected` event. */
async function expectStreamOpens(url: URL, headers: Record<string, string> = {}): Promise<void> {
  const stream = await openRawStream(url, { headers });
  try {
    expect(stream.status).toBe(200);
    await stream.untilMessage((m) => m.type === 'connected', 'connected');
  } finally {
    stream.close();
  }
}

const sseAttacks: Attack[] = [
  {
    name: `SSE: the victim's cookie stream opened from ${EVIL}`,
    status: 'held',
    run: async (ctx) => {
      const victim = await registerAuthor(ctx.app, 'cookie');
      const res = await openRawStream(streamUrl(ctx.app), {
        cookie: victim.cookie,
        headers: { Origin: EVIL },
      });
      await expectStreamRefused(res, 403);
      // Control: the same request from the app's own origin is served.
      const own = await openRawStream(streamUrl(ctx.app), {
        cookie: victim.cookie,
        headers: { Origin: ctx.app.baseUrl },
      });
      try {
        expect(own.status).toBe(200);
        await own.untilMessage((m) => m.user_id === victim.authorId, 'connected');
      } finally {
        own.close();
      }
    },
  },
  {
    name: 'SSE: a ticket replayed while its first stream is open',
    status: 'held',
    run: async (ctx) => {
      const victim = await registerAuthor(ctx.app, 'bearer');
      const ticket = await ticketFor(ctx.app, victim.token!);
      const first = await openRawStream(streamUrl(ctx.app, ticket));
      try {
        expect(first.status).toBe(200);
        await first.untilMessage((m) => m.type === 'connected', 'connected');
        await expectStreamRefused(await openRawStream(streamUrl(ctx.app, ticket)), 401);
        // The owner's stream is untouched by the replay.
        expect(first.ended).toBe(false);
      } finally {
        first.close();
      }
    },
  },
  {
    name: 'SSE: a ticket presented from another client IP (X-Forwarded-For behind TRUST_PROXY)',
    status: 'held',
    run: async (ctx) => {
      const t = await proxiedApp(ctx);
      const victim = await registerAuthor(t, 'bearer');
      const home = { 'X-Forwarded-For': '10.0.0.1' };
      const ticket = await ticketFor(t, victim.token!, home);
      const stolen = await openRawStream(streamUrl(t, ticket), {
        headers: { 'X-Forwarded-For': '10.0.0.2' },
      });
      await expectStreamRefused(stolen, 401);
      // The victim is unaffected: a new ticket from their own address opens their stream.
      await expectStreamOpens(streamUrl(t, await ticketFor(t, victim.token!, home)), home);
    },
  },
  {
    name: 'SSE: a ticket presented after SSE_TICKET_TTL_S',
    status: 'held',
    run: async (ctx) => {
      const t = await shortTicketApp(ctx);
      const victim = await registerAuthor(t, 'bearer');
      const ticket = await ticketFor(t, victim.token!);
      // The ticket was stored before its answer arrived, so it is dead once its TTL has passed since.
      const deadAt = Date.now() + t.config.sse.ticketTtlS * 1000 + 50;
      await waitFor(() => Date.now() >= deadAt, { message: 'ticket TTL passed', timeoutMs: 5_000 });
      await expectStreamRefused(await openRawStream(streamUrl(t, ticket)), 401);
      // Control: a ticket of the same session, presented in time, is accepted.
      await expectStreamOpens(streamUrl(t, await ticketFor(t, victim.token!)));
    },
  },
];

// ---------------------------------------------------------------------------------------- IDOR

const idorPair = once(async (ctx) => ({
  victim: await registerAuthor(ctx.app, 'bearer'),
  attacker: await registerAuthor(ctx.app, 'bearer'),
}));

async function sessionIdsOf(t: TestApp, token: string): Promise<string[]> {
  const res = await t.http().get('/auth/sessions').set(bearer(token));
  expect(res.status).toBe(200);
  return res.body.map((session: { id: string }) => session.id);
}

const NOTIFICATIONS = 'query { notifications(first: 100) { nodes { id type seenAt } } }';
const FOLLOWERS = 'query F($id: Int!) { followers(authorId: $id, first: 100) { nodes { id } } }';

async function followerIdsOf(t: TestApp, token: string, authorId: number): Promise<number[]> {
  const data = dataOf(await graphql(t, token, FOLLOWERS, { id: authorId }));
  return data.followers.nodes.map((node: { id: number }) => node.id);
}

const idorAttacks: Attack[] = [
  {
    name: "IDOR: DELETE /auth/sessions/:id with another author's session id",
    status: 'held',
    run: async (ctx) => {
      const { victim, attacker } = await idorPair(ctx);
      const sessionId = victim.body.session.id as string;
      const res = await ctx.app
        .http()
        .delete(`/auth/sessions/${sessionId}`)
        .set(bearer(attacker.token!));
      expect(res.status).toBe(404);
      expect(await sessionIdsOf(ctx.app, victim.token!)).toContain(sessionId);
      expect((await profileOf(ctx.app, victim.token!)).id).toBe(victim.authorId);
    },
  },
  {
    name: "IDOR: GraphQL revokeSession with another author's session id",
    status: 'held',
    run: async (ctx) => {
      const { victim, attacker } = await idorPair(ctx);
      const sessionId = victim.body.session.id as string;
      const res = await graphql(
        ctx.app,
        attacker.token!,
        'mutation R($id: ID!) { revokeSession(id: $id) }',
        { id: sessionId },
      );
      expect(errorCode(res)).toBe('NOT_FOUND');
      expect(res.body.data).toBeNull();
      expect(await sessionIdsOf(ctx.app, victim.token!)).toContain(sessionId);
      expect((await profileOf(ctx.app, victim.token!)).id).toBe(victim.authorId);
    },
  },
  {
    name: "IDOR: markNotificationsSeen with another author's notification ids",
    status: 'held',
    run: async (ctx) => {
      const { victim, attacker } = await idorPair(ctx);
      // A follow gives the victim a notification of their own.
      const fan = await registerAuthor(ctx.app, 'bearer');
      dataOf(
        await graphql(ctx.app, fan.token!, 'mutation F($id: Int!) { follow(authorId: $id) }', {
          id: victim.authorId,
        }),
      );
      const unseen = await waitFor(
        async () => {
          const data = dataOf(await graphql(ctx.app, victim.token!, NOTIFICATIONS));
          return data.notifications.nodes.filter((n: Data) => n.seenAt === null);
        },
        { message: 'an unseen notification of the victim' },
      );
      const before = dataOf(await graphql(ctx.app, victim.token!, NOTIFICATIONS));
      const ids = unseen.map((n: Data) => n.id as string);
      expect(ids.length).toBeGreaterThan(0);

      const res = await graphql(
        ctx.app,
        attacker.token!,
        'mutation M($ids: [ID!]!) { markNotificationsSeen(ids: $ids) }',
        { ids },
      );
      expect(dataOf(res).markNotificationsSeen).toBe(0);
      expect(dataOf(await graphql(ctx.app, victim.token!, NOTIFICATIONS))).toEqual(before);
    },
  },
  {
    name: 'IDOR: unfollow naming an author the victim follows, and with a followerId argument',
    status: 'held',
    run: async (ctx) => {
      const { victim, attacker } = await idorPair(ctx);
      const followed = await registerAuthor(ctx.app, 'bearer');
      dataOf(
        await graphql(ctx.app, victim.token!, 'mutation F($id: Int!) { follow(authorId: $id) }', {
          id: followed.authorId,
        }),
      );
      const before = await followerIdsOf(ctx.app, victim.token!, followed.authorId);
      expect(before).toContain(victim.authorId);

      // unfollow acts for the caller only: the attacker's own (absent) follow.
      const own = await graphql(
        ctx.app,
        attacker.token!,
        'mutation U($id: Int!) { unfollow(authorId: $id) }',
        {
          id: followed.authorId,
        },
      );
      expect(dataOf(own).unfollow).toBe(true);
      const forged = await graphql(
        ctx.app,
        attacker.token!,
        'mutation U($id: Int!, $as: Int!) { unfollow(authorId: $id, followerId: $as) }',
        { id: followed.authorId, as: victim.authorId },
      );
      expect(forged.status).toBe(400);
      expect(errorCode(forged)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(await followerIdsOf(ctx.app, victim.token!, followed.authorId)).toEqual(before);
    },
  },
  {
    name: 'IDOR: admin mutations naming another author (revokeAuthorSessions, banAuthor, assignRole, removeRole) by a non-admin',
    status: 'held',
    run: async (ctx) => {
      const { victim, attacker } = await idorPair(ctx);
      const victimBefore = await profileOf(ctx.app, victim.token!);
      const attackerBefore = await profileOf(ctx.app, attacker.token!);
      const sessionsBefore = await sessionIdsOf(ctx.app, victim.token!);
      const attempts: [string, Data][] = [
        ['mutation A($id: Int!) { revokeAuthorSessions(authorId: $id) }', { id: victim.authorId }],
        [
          'mutation A($id: Int!) { banAuthor(authorId: $id, reason: "x") { id } }',
          { id: victim.authorId },
        ],
        [
          'mutation A($id: Int!) { assignRole(authorId: $id, role: "admin") { id } }',
          { id: attacker.authorId },
        ],
        [
          'mutation A($id: Int!) { removeRole(authorId: $id, role: "user") { id } }',
          { id: victim.authorId },
        ],
      ];
      for (const [query, variables] of attempts) {
        expect(errorCode(await graphql(ctx.app, attacker.token!, query, variables))).toBe(
          'FORBIDDEN',
        );
      }
      expect(await profileOf(ctx.app, victim.token!)).toEqual(victimBefore);
      expect(await profileOf(ctx.app, attacker.token!)).toEqual(attackerBefore);
      expect(await sessionIdsOf(ctx.app, victim.token!)).toEqual(sessionsBefore);
    },
  },
];

// ------------------------------------------------------------------------------ mass assignment

/** Fields an attacker adds to an input, hoping they are stored; `id` to take over another row. */
const PRIVILEGED: Record<string, unknown> = {
  roles: ['admin'],
  is_admin: true,
  isAdmin: true,
  permissions: ['admin'],
  email_verified: true,
  emailVerified: true,
  id: 1,
};

/** A GraphQL input object literal: `{ name: "x", roles: ["admin"] }` (JSON values are GraphQL values). */
const literal = (fields: Data) =>
  `{ ${Object.entries(fields)
    .map(([name, value]) => `${name}: ${JSON.stringify(value)}`)
    .join(', ')} }`;

const REGISTER_RESULT = '{ author { id roles permissions emailVerified } }';
const ME = 'query { me { id name bio roles permissions emailVerified } }';

const massAssignmentAttacks: Attack[] = [
  {
    name: 'mass assignment: privileged fields in REST POST /auth/register',
    status: 'held',
    run: async (ctx) => {
      for (const [field, value] of Object.entries(PRIVILEGED)) {
        const registration = newRegistration();
        const res = await ctx.app
          .http()
          .post('/auth/register')
          .send({ ...registration, mode: 'bearer', [field]: value });
        expect(res.status).toBe(400);
        expect(res.body.message).toContain(`property ${field} should not exist`);
        expect(setCookies(res)).toEqual([]);
        expect(await loginStatus(ctx.app, registration.email, registration.password)).toBe(401);
      }
    },
  },
  {
    name: 'mass assignment: privileged fields in REST PUT /auth/profile',
    status: 'held',
    run: async (ctx) => {
      const { attacker } = await idorPair(ctx);
      const before = await profileOf(ctx.app, attacker.token!);
      for (const [field, value] of Object.entries(PRIVILEGED)) {
        const res = await ctx.app
          .http()
          .put('/auth/profile')
          .set(bearer(attacker.token!))
          .send({ name: `Renamed ${unique()}`, [field]: value });
        expect(res.status).toBe(400);
        expect(res.body.message).toContain(`property ${field} should not exist`);
      }
      expect(await profileOf(ctx.app, attacker.token!)).toEqual(before);
    },
  },
  {
    name: 'mass assignment: privileged fields in GraphQL register (inline and as variables)',
    status: 'held',
    run: async (ctx) => {
      for (const [field, value] of Object.entries(PRIVILEGED)) {
        const inline = newRegistration();
        const byLiteral = await ctx.app
          .http()
          .post('/graphql')
          .send({
            query: `mutation { register(input: ${literal({ email: inline.email, password: inline.password, mode: 'bearer', [field]: value })}) ${REGISTER_RESULT} }`,
          });
        expect(byLiteral.status).toBe(400);
        expect(errorCode(byLiteral)).toBe('GRAPHQL_VALIDATION_FAILED');

        const variable = newRegistration();
        const byVariable = await ctx.app
          .http()
          .post('/graphql')
          .send({
            query: `mutation R($input: RegisterInput!) { register(input: $input) ${REGISTER_RESULT} }`,
            variables: {
              input: { email: variable.email, password: variable.password, [field]: value },
            },
          });
        expect(byVariable.status).toBe(400);
        expect(errorCode(byVariable)).toBe('BAD_USER_INPUT');

        for (const tried of [inline, variable]) {
          expect(await loginStatus(ctx.app, tried.email, tried.password)).toBe(401);
        }
      }
    },
  },
  {
    name: 'mass assignment: privileged fields in GraphQL updateProfile (inline and as variables)',
    status: 'held',
    run: async (ctx) => {
      const { attacker } = await idorPair(ctx);
      const before = dataOf(await graphql(ctx.app, attacker.token!, ME));
      for (const [field, value] of Object.entries(PRIVILEGED)) {
        const input = { name: `Renamed ${unique()}`, [field]: value };
        const byLiteral = await graphql(
          ctx.app,
          attacker.token!,
          `mutation { updateProfile(input: ${literal(input)}) { id roles } }`,
        );
        expect(byLiteral.status).toBe(400);
        expect(errorCode(byLiteral)).toBe('GRAPHQL_VALIDATION_FAILED');
        const byVariable = await graphql(
          ctx.app,
          attacker.token!,
          'mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { id roles } }',
          { input },
        );
        expect(byVariable.status).toBe(400);
        expect(errorCode(byVariable)).toBe('BAD_USER_INPUT');
      }
      expect(dataOf(await graphql(ctx.app, attacker.token!, ME))).toEqual(before);
    },
  },
];

// --------------------------------------------------------------------------------- enumeration

const enumerationAttacks: Attack[] = [
  {
    name: 'enumeration: login with an unknown email vs a known email with a wrong password',
    status: 'held',
    run: async (ctx) => {
      const known = await registerAuthor(ctx.app, 'bearer');
      const attempt = (email: string) =>
        ctx.app
          .http()
          .post('/auth/login')
          .send({ email, password: 'not-the-password', mode: 'bearer' });
      const unknown = await attempt(newRegistration().email);
      const wrong = await attempt(known.email);
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(unknown.status);
      expect(unknown.body).toEqual({
        statusCode: 401,
        message: 'Invalid email or password',
        error: 'Unauthorized',
      });
      expect(wrong.text).toBe(unknown.text);
      expect(setCookies(wrong)).toEqual(setCookies(unknown));
      expect(await loginStatus(ctx.app, known.email, known.password)).toBe(200);
    },
  },
  {
    name: 'enumeration: forgot-password for an unknown vs a known email',
    status: 'held',
    run: async (ctx) => {
      const known = await registerAuthor(ctx.app, 'bearer');
      const forgot = (email: string) =>
        ctx.app.http().post('/auth/password/forgot').send({ email });
      const existing = await forgot(known.email);
      const unknownEmail = newRegistration().email;
      const unknown = await forgot(unknownEmail);
      expect(existing.status).toBe(202);
      expect(unknown.status).toBe(existing.status);
      expect(unknown.text).toBe(existing.text);
      for (const header of ['content-type', 'content-length', 'set-cookie']) {
        expect(unknown.headers[header]).toEqual(existing.headers[header]);
      }
      // Asking changes nothing: the password still works, and no account appeared.
      expect(await loginStatus(ctx.app, known.email, known.password)).toBe(200);
      expect(await loginStatus(ctx.app, unknownEmail, known.password)).toBe(401);
    },
  },
  {
    name: 'enumeration: register with a taken email, in any letter case (409, one body)',
    status: 'held',
    run: async (ctx) => {
      const owner = await registerAuthor(ctx.app, 'bearer');
      const [local, domain] = owner.email.split('@');
      const spellings = [
        owner.email,
        owner.email.toUpperCase(),
        `${local.toUpperCase()}@${domain}`,
      ];
      const attempted = spellings.map(() => `taken-${unique()}-password`);
      const answers: Response[] = [];
      for (const [i, email] of spellings.entries()) {
        answers.push(
          await ctx.app
            .http()
            .post('/auth/register')
            .send({ email, password: attempted[i], mode: 'bearer' }),
        );
      }
      // 409 tells that the address has an account (sign-up is rate-limited per IP), and nothing else.
      for (const res of answers) {
        expect(res.status).toBe(409);
        expect(res.text).toBe(answers[0].text);
        expect(setCookies(res)).toEqual([]);
      }
      expect(await loginStatus(ctx.app, owner.email, owner.password)).toBe(200);
      for (const password of attempted) {
        expect(await loginStatus(ctx.app, owner.email, password)).toBe(401);
      }
    },
  },
];

export const attacks: Attack[] = [
  ...jwtAttacks,
  ...csrfAttacks,
  ...corsAttacks,
  ...sseAttacks,
  ...idorAttacks,
  ...massAssignmentAttacks,
  ...enumerationAttacks,
];
