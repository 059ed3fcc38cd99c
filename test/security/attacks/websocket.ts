import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { MAX_DOCUMENT_NESTING } from '../../../src/graphql/input-limits';
import { MAX_DOCUMENT_TOKENS } from '../../../src/graphql/query-limits';
import { MAX_JSON_DEPTH } from '../../../src/infra/http/json-body.middleware';
import { REDIS_STORE, type RedisStore } from '../../../src/infra/redis/redis-store';
import { NotifyService } from '../../../src/notifications/notify.service';
import { registerAuthor } from '../../support/auth';
import { channelsReady } from '../../support/channels';
import { metric } from '../../support/metrics';
import type { TestApp } from '../../support/test-app';
import { waitFor } from '../../support/wait-for';
import {
  closeAllSockets,
  initRaw,
  NOTIFICATIONS_SUBSCRIPTION,
  type ProtocolMessage,
  RawSocket,
  socketUrl,
  subscribeNotifications,
  type UpgradeOptions,
} from '../../support/ws-client';
import type { Attack, AttackContext } from '../attack';
import { appSecret, claimsOf, hs256, nowSeconds, segment } from '../forged-tokens';

// GraphQL subscriptions over WebSocket (README, "Real time over WebSocket"), attacked by hand with
// a raw graphql-transport-ws client: a foreign page riding the victim's cookie, credentials in the
// URL, replayed or relocated tickets, forged tokens, another user's notifications, and protocol
// messages no client sends. These defences came with the WebSocket endpoint, after the outside
// review, so the rows are `held`. Each row asserts what the attacker observes (the upgrade's
// answer, the close code, every message received), that no socket slot was left behind, and that
// the app still serves a genuine subscriber afterwards.

const EVIL = 'https://evil.example';
const CORS_ALLOWED = 'https://app.example.com';
const ACK = { type: 'connection_ack' };
const WS_OPEN = 'tessera_ws_open_connections';

/** A value made on first use and shared by the rows of a group for the rest of the suite. */
function once<T>(make: (ctx: AttackContext) => Promise<T>): (ctx: AttackContext) => Promise<T> {
  let made: Promise<T> | undefined;
  return (ctx) => (made ??= make(ctx));
}

/** CORS_ORIGINS, so that a listed origin may use the cookie; a trusted proxy for the IP rows. */
const proxiedApp = once((ctx) => ctx.boot({ CORS_ORIGINS: CORS_ALLOWED, TRUST_PROXY: 'true' }));

type RowBody = (t: TestApp, before: number, ctx: AttackContext) => Promise<void>;

/**
 * A row on the app `appOf` gives. It gets the number of sockets open at rest before it; when it
 * ends, its sockets are closed (whatever happened), and it passes only if that number is back and
 * a genuine subscriber is still served.
 */
function rowOn(
  appOf: (ctx: AttackContext) => TestApp | Promise<TestApp>,
  name: string,
  run: RowBody,
): Attack {
  return {
    name,
    status: 'held',
    run: async (ctx) => {
      const t = await appOf(ctx);
      const before = await openSocketsAtRest(t);
      try {
        await run(t, before, ctx);
      } finally {
        closeAllSockets();
      }
      await untilOpenSockets(t, before);
      await expectStillServing(t);
    },
  };
}

/** A row on the suite's app. */
const row = (name: string, run: RowBody) => rowOn((ctx) => ctx.app, name, run);
/** A row on the app with CORS_ORIGINS and a trusted proxy. */
const proxiedRow = (name: string, run: RowBody) => rowOn(proxiedApp, name, run);

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const isType = (type: string) => (message: ProtocolMessage) =>
  typeof message === 'object' && message.type === type;

async function ticketFor(t: TestApp, token: string, headers: Record<string, string> = {}) {
  const res = await t.http().post('/sse/ticket').set(bearer(token)).set(headers);
  expect(res.status).toBe(200);
  return res.body.ticket as string;
}

/** Stores and publishes a notification, as the app's own features do. */
function notify(t: TestApp, userId: number, payload: Record<string, unknown> = { n: 1 }) {
  return t.app.get(NotifyService).notify(userId, 'mention', 'create', 'comment', payload);
}

/** Sockets and SSE streams the user holds a slot for, across instances (the per-user cap). */
function slotsOf(t: TestApp, userId: number): Promise<number> {
  return t.app.get<RedisStore>(REDIS_STORE).scard(`sse_user_streams:${userId}`);
}

/** TCP connections the HTTP server holds open, upgraded ones included. */
function serverConnections(t: TestApp): Promise<number> {
  const server = t.app.getHttpServer() as Server;
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/**
 * The baseline of tessera_ws_open_connections for a row. No row leaves a socket open, but a socket
 * closed at the end of the last one is counted until the server has seen it go: wait for that.
 */
async function openSocketsAtRest(t: TestApp): Promise<number> {
  await untilOpenSockets(t, 0);
  return 0;
}

/** Waits until tessera_ws_open_connections reads `expected` again. */
async function untilOpenSockets(t: TestApp, expected: number): Promise<void> {
  await waitFor(async () => (await metric(t, WS_OPEN)) === expected, {
    message: `${WS_OPEN} back at ${expected}`,
  });
}

/** `connection_init` on `url` (which may carry a query string), then the ack or the close. */
async function initAt(url: string, payload: unknown, upgrade: UpgradeOptions = {}) {
  const socket = new RawSocket(url, upgrade);
  await socket.untilOpen();
  socket.send({ type: 'connection_init', ...(payload !== undefined && { payload }) });
  await waitFor(() => socket.closedWith || socket.messages.some(isType('connection_ack')), {
    message: 'connection_ack or close',
  });
  return socket;
}

/** A socket acknowledged for `token`: nothing but the ack received. */
async function acknowledged(t: TestApp, token: string): Promise<RawSocket> {
  const socket = await initRaw(t.baseUrl, { token });
  expect(socket.messages).toEqual([ACK]);
  expect(socket.closedWith).toBeUndefined();
  return socket;
}

/** Closed with 4401 having received nothing: no ack, no data. */
async function expectUnauthorized(socket: RawSocket): Promise<void> {
  expect(await socket.untilClosed()).toMatchObject({ code: 4401, reason: 'Unauthorized' });
  expect(socket.messages).toEqual([]);
}

/** Refused on the upgrade with `status` and this JSON body: no socket ever existed. */
async function expectUpgradeRefused(socket: RawSocket, status: number, message: string) {
  const refused = await socket.untilRefused();
  expect(refused.status).toBe(status);
  expect(JSON.parse(refused.body)).toEqual({ statusCode: status, message });
  expect(socket.opened).toBe(false);
  expect(socket.messages).toEqual([]);
}

/** The socket closed with `code` (and `reason`, when given). */
async function expectClosed(socket: RawSocket, code: number, reason?: string): Promise<void> {
  const closed = await socket.untilClosed();
  expect(closed.code).toBe(code);
  if (reason !== undefined) expect(closed.reason).toBe(reason);
}

/**
 * The app is unharmed: /health answers, and a new author's token socket is acknowledged and
 * delivers a notification stored now.
 */
async function expectStillServing(t: TestApp): Promise<void> {
  const health = await t.http().get('/health');
  expect(health.status).toBe(200);
  expect(health.body).toMatchObject({ status: 'ok' });
  const open = await metric(t, WS_OPEN);
  const author = await registerAuthor(t, 'bearer');
  const subscription = subscribeNotifications(t.baseUrl, { params: { token: author.token } });
  try {
    await subscription.untilAcknowledged();
    await channelsReady(t, author.authorId);
    const stored = await notify(t, author.authorId, { still: 'serving' });
    expect((await subscription.untilNotifications(1)).map((n) => n.id)).toEqual([stored.id]);
    expect(subscription.errors).toEqual([]);
    expect(await metric(t, WS_OPEN)).toBe(open + 1);
  } finally {
    subscription.close();
  }
  await untilOpenSockets(t, open);
}

// -------------------------------------------------------------- cross-site WebSocket hijacking

const CROSS_SITE: [label: string, headers: Record<string, string>, origin: string][] = [
  [`Origin: ${EVIL}`, { Origin: EVIL }, EVIL],
  ['Origin: null (a sandboxed frame, a data: URL)', { Origin: 'null' }, 'null'],
  [`a foreign Referer and no Origin`, { Referer: `${EVIL}/phish?next=/graphql` }, EVIL],
  [
    `the look-alike Origin ${CORS_ALLOWED}.evil.example`,
    { Origin: `${CORS_ALLOWED}.evil.example` },
    `${CORS_ALLOWED}.evil.example`,
  ],
];

const victimOfCrossSite = once(async (ctx) => registerAuthor(await proxiedApp(ctx), 'cookie'));

const hijackingAttacks: Attack[] = [
  ...CROSS_SITE.map(([label, headers, origin]) =>
    proxiedRow(`CSWSH: the victim's cookie on an upgrade with ${label}`, async (t, before, ctx) => {
      const victim = await victimOfCrossSite(ctx);

      const socket = new RawSocket(socketUrl(t.baseUrl), { cookie: victim.cookie, headers });
      await expectUpgradeRefused(socket, 403, `Origin ${origin} is not allowed`);
      expect(await slotsOf(t, victim.authorId)).toBe(0);
      expect(await metric(t, WS_OPEN)).toBe(before);

      // Control: the same cookie from the listed origin is acknowledged, so the 403 is the origin's.
      const own = await initRaw(t.baseUrl, undefined, {
        cookie: victim.cookie,
        origin: CORS_ALLOWED,
      });
      expect(own.messages).toEqual([ACK]);
      own.close();
    }),
  ),
  proxiedRow(
    "CSWSH: the victim's cookie on an upgrade with neither Origin nor Referer (4401, no ack)",
    async (t, before, ctx) => {
      const victim = await victimOfCrossSite(ctx);

      // The upgrade is not refused (a native client sends no Origin), but the cookie is not read.
      for (const payload of [undefined, {}]) {
        const socket = await initRaw(t.baseUrl, payload, { cookie: victim.cookie });
        expect(socket.opened).toBe(true);
        await expectUnauthorized(socket);
      }
      expect(await slotsOf(t, victim.authorId)).toBe(0);
      expect(await metric(t, WS_OPEN)).toBe(before);
      // The cookie itself is good: over HTTP it still reads the victim's profile.
      const profile = await t.http().get('/auth/profile').set('Cookie', victim.cookie!);
      expect(profile.status).toBe(200);
      expect(profile.body.id).toBe(victim.authorId);
    },
  ),
];

// ------------------------------------------------------------------- credentials in the URL

const urlAttacks: Attack[] = [
  row(
    'credentials in the URL: ?token=, ?access_token=, ?ticket=, ?authorization= with an absent or empty connection_init payload',
    async (t, before) => {
      const victim = await registerAuthor(t, 'bearer');
      const ticket = await ticketFor(t, victim.token!);
      const queries: [string, string][][] = [
        [['token', victim.token!]],
        [['access_token', victim.token!]],
        [['ticket', ticket]],
        [['authorization', `Bearer ${victim.token}`]],
        [
          ['token', victim.token!],
          ['access_token', victim.token!],
          ['ticket', ticket],
        ],
      ];
      for (const query of queries) {
        const url = new URL(socketUrl(t.baseUrl));
        for (const [name, value] of query) url.searchParams.set(name, value);
        for (const payload of [undefined, {}]) {
          const socket = await initAt(url.href, payload);
          expect(socket.opened).toBe(true);
          await expectUnauthorized(socket);
        }
      }
      expect(await slotsOf(t, victim.authorId)).toBe(0);
      expect(await metric(t, WS_OPEN)).toBe(before);

      // The URL is never read, so the ticket in it was not spent: it opens the victim's socket,
      // once, from connection_init.
      const own = await initRaw(t.baseUrl, { ticket });
      expect(own.messages).toEqual([ACK]);
      expect(await metric(t, WS_OPEN)).toBe(before + 1);
      await expectUnauthorized(await initRaw(t.baseUrl, { ticket }));
      own.close();
    },
  ),
  row('an upgrade on a path other than /graphql (404, no socket)', async (t) => {
    for (const path of ['/', '/graphql/', '/GRAPHQL', '/sse/notifications', '/api/graphql']) {
      const socket = new RawSocket(socketUrl(t.baseUrl, path));
      await expectUpgradeRefused(socket, 404, 'Not Found');
    }
  }),
];

// ------------------------------------------------------------------------------------ tickets

const ticketAttacks: Attack[] = [
  row(
    'a ticket replayed while its first socket is open (4401, the first socket unharmed)',
    async (t, before) => {
      const victim = await registerAuthor(t, 'bearer');
      const ticket = await ticketFor(t, victim.token!);
      const first = subscribeNotifications(t.baseUrl, { params: { ticket } });
      await first.untilAcknowledged();
      await channelsReady(t, victim.authorId);

      await expectUnauthorized(await initRaw(t.baseUrl, { ticket }));
      // Beside a token field: a ticket, when present, decides alone.
      await expectUnauthorized(await initRaw(t.baseUrl, { ticket, token: 'x' }));

      expect(await slotsOf(t, victim.authorId)).toBe(1);
      expect(await metric(t, WS_OPEN)).toBe(before + 1);
      const stored = await notify(t, victim.authorId);
      expect((await first.untilNotifications(1)).map((n) => n.id)).toEqual([stored.id]);
      expect(first.closedWith).toBeUndefined();
      first.close();
    },
  ),
  proxiedRow(
    'a ticket presented from another client IP (X-Forwarded-For behind TRUST_PROXY): 4401, and spent',
    async (t, before) => {
      const victim = await registerAuthor(t, 'bearer');
      const home = { 'X-Forwarded-For': '198.51.100.7' };
      const elsewhere = { 'X-Forwarded-For': '203.0.113.9' };
      const ticket = await ticketFor(t, victim.token!, home);

      await expectUnauthorized(await initRaw(t.baseUrl, { ticket }, { headers: elsewhere }));
      // The attempt spent it: not even the address it was issued to can use it now.
      await expectUnauthorized(await initRaw(t.baseUrl, { ticket }, { headers: home }));
      expect(await slotsOf(t, victim.authorId)).toBe(0);
      expect(await metric(t, WS_OPEN)).toBe(before);

      // Control: a new ticket, presented from the address it was issued to, is acknowledged.
      const fresh = await ticketFor(t, victim.token!, home);
      const own = await initRaw(t.baseUrl, { ticket: fresh }, { headers: home });
      expect(own.messages).toEqual([ACK]);
      own.close();
    },
  ),
];

// ---------------------------------------------------------------------- another user's identity

const identityAttacks: Attack[] = [
  row(
    "another user's notifications: A's token with B's id in connection_init, a userId argument, a replay from before B's notification",
    async (t) => {
      const a = await registerAuthor(t, 'bearer');
      const b = await registerAuthor(t, 'bearer');
      const bStored = await notify(t, b.authorId, { for: 'B', n: 0 });

      // B's genuine subscriber, to know when B's live notification has been delivered.
      const bSocket = subscribeNotifications(t.baseUrl, { params: { token: b.token } });
      await bSocket.untilAcknowledged();
      await channelsReady(t, b.authorId);
      // A names B every way connection_init could, and replays from just before B's notification.
      const aSocket = subscribeNotifications(t.baseUrl, {
        params: { token: a.token, userId: b.authorId, user_id: b.authorId, sub: b.authorId },
        after: String(Number(bStored.id) - 1),
      });
      await aSocket.untilAcknowledged();
      await channelsReady(t, a.authorId);

      // A user argument does not exist on the subscription.
      const raw = await acknowledged(t, a.token!);
      raw.send({
        id: 'other',
        type: 'subscribe',
        payload: {
          query: 'subscription S($id: Int) { notifications(userId: $id) { id payload } }',
          variables: { id: b.authorId },
        },
      });
      const refused = (await raw.untilMessage(isType('error'), 'error')) as { payload: unknown };
      expect(refused).toEqual({
        id: 'other',
        type: 'error',
        payload: [
          expect.objectContaining({
            message: 'Unknown argument "userId" on field "Subscription.notifications".',
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
        ],
      });

      const bLive = await notify(t, b.authorId, { for: 'B', n: 1 });
      expect((await bSocket.untilNotifications(1)).map((n) => n.id)).toEqual([bLive.id]);
      const aLive = await notify(t, a.authorId, { for: 'A', n: 1 });
      const received = await aSocket.untilNotifications(1);
      expect(received.map((n) => n.id)).toEqual([aLive.id]);
      expect(JSON.parse(received[0].payload)).toEqual({ for: 'A', n: 1 });
      expect(raw.messages.filter(isType('next'))).toEqual([]);
      expect(aSocket.errors).toEqual([]);
    },
  ),
];

// ------------------------------------------------------------------- forged and tampered tokens

const tokenAttacks: Attack[] = [
  row(
    'forged session tokens in connection_init and in the cookie: alg none, a wrong signature, a tampered user_id, expired',
    async (t, before) => {
      const victim = await registerAuthor(t, 'bearer');
      const attacker = await registerAuthor(t, 'bearer');
      const claims = claimsOf(victim.token!);
      const now = nowSeconds();
      const [header, , signature] = attacker.token!.split('.');
      const forged: [string, string][] = [
        ...['none', 'None', 'NONE'].map((alg): [string, string] => [
          `alg ${alg}`,
          `${segment({ alg, typ: 'JWT' })}.${segment(claims)}.`,
        ]),
        ['signed with a guessed secret', hs256('secret', claims)],
        [
          'the signature of another token',
          `${victim.token!.split('.').slice(0, 2).join('.')}.${signature}`,
        ],
        [
          "the attacker's token with the victim's user_id",
          `${header}.${segment({ ...claimsOf(attacker.token!), user_id: victim.authorId })}.${signature}`,
        ],
        [
          'expired, signed with the app secret',
          hs256(appSecret(t), { ...claims, iat: now - 7200, exp: now - 3600 }),
        ],
        ['a token that is not a JWT', 'not.a.jwt'],
      ];
      const ownOrigin = new URL(t.baseUrl).origin;
      for (const [label, token] of forged) {
        const byToken = await initRaw(t.baseUrl, { token });
        await expectUnauthorized(byToken).catch((error: Error) => {
          throw new Error(`${label} (token): ${error.message}`);
        });
        const byCookie = await initRaw(t.baseUrl, undefined, {
          cookie: `${t.config.cookie.name}=${token}`,
          origin: ownOrigin,
        });
        await expectUnauthorized(byCookie).catch((error: Error) => {
          throw new Error(`${label} (cookie): ${error.message}`);
        });
      }
      for (const token of [{}, ['x'], 42, true]) {
        await expectUnauthorized(await initRaw(t.baseUrl, { token }));
      }
      expect(await slotsOf(t, victim.authorId)).toBe(0);
      expect(await metric(t, WS_OPEN)).toBe(before);

      // Control: the same construction with the app's secret and a live exp is the victim's, so
      // each refusal above is of the claim or the signature, not of the signer.
      const genuine = hs256(appSecret(t), { ...claims, iat: now, exp: now + 3600 });
      const own = await acknowledged(t, genuine);
      own.close();
    },
  ),
];

// ---------------------------------------------------------------- oversized and malformed messages

const PING_ENVELOPE = JSON.stringify({ type: 'ping', payload: { pad: '' } });
/** A ping message of exactly `bytes` bytes (ASCII). */
const pingOf = (bytes: number) =>
  JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(bytes - PING_ENVELOPE.length) } });
const MAX_MESSAGE_BYTES = 16 * 1024;
const MIB = 1024 * 1024;

interface RequestError {
  message: string;
  code: string | undefined;
}

/** GraphQL errors as their messages and codes. */
const requestErrorsOf = (errors: { message: string; extensions?: { code?: string } }[]) =>
  errors.map((error): RequestError => ({ message: error.message, code: error.extensions?.code }));

/** The socket's `error` message for subscription `id`: its errors' messages and codes. */
async function operationErrors(socket: RawSocket, id: string): Promise<RequestError[]> {
  const message = (await socket.untilMessage(
    (m) => typeof m === 'object' && m.type === 'error' && m.id === id,
    `error for ${id}`,
  )) as { payload: { message: string; extensions?: { code?: string } }[] };
  return requestErrorsOf(message.payload);
}

function subscribe(socket: RawSocket, id: string, query: string, variables?: object) {
  socket.send({ id, type: 'subscribe', payload: { query, ...(variables && { variables }) } });
}

const protocolAttacks: Attack[] = [
  row(
    'a 1 MiB message before connection_init and after the ack, and 32 KiB in 1 KiB fragments (1009)',
    async (t, before) => {
      const author = await registerAuthor(t, 'bearer');

      const early = new RawSocket(socketUrl(t.baseUrl));
      await early.untilOpen();
      // permessage-deflate, which the client offers, is not agreed to: no compressed bomb either.
      expect(early.socket.extensions).toBe('');
      early.send('x'.repeat(MIB));
      await expectClosed(early, 1009);

      const late = await acknowledged(t, author.token!);
      expect(await metric(t, WS_OPEN)).toBe(before + 1);
      late.send(JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(MIB) } }));
      await expectClosed(late, 1009);
      expect(late.messages).toEqual([ACK]);
      // Its slot went with it.
      await untilOpenSockets(t, before);
      await waitFor(async () => (await slotsOf(t, author.authorId)) === 0, {
        message: 'the slot freed',
      });

      const fragmented = await acknowledged(t, author.token!);
      for (let i = 0; i < 32; i++) {
        fragmented.socket.send('x'.repeat(1024), { fin: false });
      }
      fragmented.socket.send('x', { fin: true });
      await expectClosed(fragmented, 1009);
      await untilOpenSockets(t, before);

      // The cap is 16 KiB: a ping of exactly that size is answered, one byte more is not.
      const edge = await acknowledged(t, author.token!);
      edge.send(pingOf(MAX_MESSAGE_BYTES));
      await edge.untilMessage(isType('pong'), 'pong to a 16 KiB ping');
      edge.send(pingOf(MAX_MESSAGE_BYTES + 1));
      await expectClosed(edge, 1009);
    },
  ),
  row(
    'unparsable and wrongly shaped messages: not JSON, {"type":"subscribe"} without id or payload, an unknown type, an array, a number (4400)',
    async (t, before) => {
      const author = await registerAuthor(t, 'bearer');
      const garbage = [
        'not json',
        '{"type":"connection_init"',
        '',
        JSON.stringify({ type: 'subscribe' }),
        JSON.stringify({ type: 'subscribe', id: 'x' }),
        JSON.stringify({ type: 'subscribe', id: '', payload: { query: '{ __typename }' } }),
        JSON.stringify({ type: 'subscribe', id: 'x', payload: { query: 42 } }),
        JSON.stringify({ type: 'nonsense' }),
        JSON.stringify({ type: 42 }),
        JSON.stringify({}),
        JSON.stringify([{ type: 'connection_init' }]),
        '42',
        'null',
        '"connection_init"',
        JSON.stringify({ type: 'connection_init', payload: 'token' }),
      ];
      for (const message of garbage) {
        // Before connection_init, and on a socket already acknowledged (whose slot must go).
        const early = new RawSocket(socketUrl(t.baseUrl));
        await early.untilOpen();
        early.send(message);
        await expectClosed(early, 4400, 'Invalid message received');
        expect(early.messages).toEqual([]);

        const late = await acknowledged(t, author.token!);
        late.send(message);
        await expectClosed(late, 4400, 'Invalid message received');
        expect(late.messages).toEqual([ACK]);
      }
      await untilOpenSockets(t, before);
      expect(await slotsOf(t, author.authorId)).toBe(0);
    },
  ),
  row(
    'frames no client sends: binary garbage (4400), connection_init with a forged token as a binary frame (4401), invalid UTF-8 text (1007)',
    async (t, before) => {
      const binary = new RawSocket(socketUrl(t.baseUrl));
      await binary.untilOpen();
      binary.socket.send(randomBytes(64), { binary: true });
      await expectClosed(binary, 4400);
      expect(binary.messages).toEqual([]);

      const forged = new RawSocket(socketUrl(t.baseUrl));
      await forged.untilOpen();
      const init = { type: 'connection_init', payload: { token: 'forged.token.value' } };
      forged.socket.send(Buffer.from(JSON.stringify(init)), { binary: true });
      await expectUnauthorized(forged);

      const badText = new RawSocket(socketUrl(t.baseUrl));
      await badText.untilOpen();
      badText.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
      await expectClosed(badText, 1007);
      expect(badText.messages).toEqual([]);

      // No subprotocol: closed before anything is read. The legacy subscriptions-transport-ws
      // one is not agreed to in the handshake, so that client gives up before the socket opens.
      const none = new RawSocket(socketUrl(t.baseUrl), {}, null);
      await expectClosed(none, 4406, 'Subprotocol not acceptable');
      expect(none.messages).toEqual([]);
      const legacy = new RawSocket(socketUrl(t.baseUrl), {}, 'graphql-ws');
      await expectClosed(legacy, 1006);
      expect(legacy.opened).toBe(false);

      expect(await metric(t, WS_OPEN)).toBe(before);
    },
  ),
  row(
    'protocol order: subscribe before the ack (4401), a second connection_init after the ack and right behind the first (4429)',
    async (t) => {
      const author = await registerAuthor(t, 'bearer');

      const early = new RawSocket(socketUrl(t.baseUrl));
      await early.untilOpen();
      subscribe(early, '1', NOTIFICATIONS_SUBSCRIPTION);
      await expectUnauthorized(early);

      const again = await acknowledged(t, author.token!);
      again.send({ type: 'connection_init', payload: { token: author.token } });
      await expectClosed(again, 4429, 'Too many initialisation requests');
      expect(again.messages).toEqual([ACK]);

      // The second init arrives while the first is still being authenticated: the socket is
      // closed, and the slot the first one took is given back.
      const racing = new RawSocket(socketUrl(t.baseUrl));
      await racing.untilOpen();
      racing.send({ type: 'connection_init', payload: { token: author.token } });
      racing.send({ type: 'connection_init', payload: { token: author.token } });
      await expectClosed(racing, 4429, 'Too many initialisation requests');
      expect(racing.messages).toEqual([]);

      // By the time a genuine subscriber has been served, the first init has long been
      // authenticated: the slot it took was given back, and no socket is counted.
      await expectStillServing(t);
      expect(await slotsOf(t, author.authorId)).toBe(0);
    },
  ),
  row(
    `documents past the limits of POST /graphql: over ${MAX_DOCUMENT_TOKENS} tokens, nested over ${MAX_DOCUMENT_NESTING} levels, deep or __proto__ variables, a NUL (error, socket open)`,
    async (t) => {
      const author = await registerAuthor(t, 'bearer');
      const socket = await acknowledged(t, author.token!);
      const { maxDepth } = t.config.graphql;

      const levels = MAX_DOCUMENT_NESTING + 20;
      const tooDeep = `Document is nested deeper than ${MAX_DOCUMENT_NESTING} levels`;
      const documents: [id: string, query: string, expected: RequestError[]][] = [
        [
          'tokens',
          `subscription { notifications { ${'id '.repeat(MAX_DOCUMENT_TOKENS + 10)}} }`,
          [
            {
              // graphql-js's wording ("more that"), whichever way it spells it.
              message: expect.stringMatching(
                new RegExp(
                  `^Syntax Error: Document contains more th\\w+ ${MAX_DOCUMENT_TOKENS} tokens\\. Parsing aborted\\.$`,
                ),
              ),
              code: 'GRAPHQL_PARSE_FAILED',
            },
          ],
        ],
        [
          'braces',
          `subscription { notifications { ${'id { '.repeat(levels)}id${' }'.repeat(levels)} } }`,
          [{ message: tooDeep, code: 'GRAPHQL_PARSE_FAILED' }],
        ],
        [
          'lists',
          `subscription { notifications(after: ${'['.repeat(levels)}${']'.repeat(levels)}) { id } }`,
          [{ message: tooDeep, code: 'GRAPHQL_PARSE_FAILED' }],
        ],
        [
          'depth',
          `subscription { notifications { ${'id { '.repeat(maxDepth)}id${' }'.repeat(maxDepth)} } }`,
          [
            {
              message: `Operation exceeds maximum operation depth of ${maxDepth}`,
              code: 'GRAPHQL_VALIDATION_FAILED',
            },
            {
              message: 'Field "id" must not have a selection since type "ID!" has no subfields.',
              code: 'GRAPHQL_VALIDATION_FAILED',
            },
          ],
        ],
        [
          'nul',
          'subscription { notifications(after: "1\\u0000") { id } }',
          [
            {
              message: 'String values must not contain the NUL character (U+0000)',
              code: 'BAD_USER_INPUT',
            },
          ],
        ],
      ];
      for (const [id, query, expected] of documents) {
        expect(JSON.stringify({ id, type: 'subscribe', payload: { query } }).length).toBeLessThan(
          MAX_MESSAGE_BYTES,
        );
        subscribe(socket, id, query);
        const errors = await operationErrors(socket, id);
        expect({ id, errors }).toEqual({ id, errors: expected });
        // The same refusal as POST /graphql gives the same document.
        const overHttp = await t.http().post('/graphql').set(bearer(author.token!)).send({ query });
        expect(overHttp.status).toBe(400);
        expect(requestErrorsOf(overHttp.body.errors)).toEqual(errors);
      }

      let deep: unknown = 1;
      for (let i = 0; i < MAX_JSON_DEPTH + 5; i++) deep = [deep];
      subscribe(socket, 'variables', NOTIFICATIONS_SUBSCRIPTION, { after: deep });
      expect(await operationErrors(socket, 'variables')).toEqual([
        {
          message: `Variables are nested deeper than ${MAX_JSON_DEPTH} levels`,
          code: 'BAD_USER_INPUT',
        },
      ]);
      socket.send(
        `{"id":"proto","type":"subscribe","payload":{"query":${JSON.stringify(NOTIFICATIONS_SUBSCRIPTION)},"variables":{"__proto__":{"after":"1"}}}}`,
      );
      expect(await operationErrors(socket, 'proto')).toEqual([
        { message: 'Variables must not have the property __proto__', code: 'BAD_USER_INPUT' },
      ]);

      // The socket is still open and serves a genuine subscription.
      expect(socket.closedWith).toBeUndefined();
      subscribe(socket, 'genuine', NOTIFICATIONS_SUBSCRIPTION);
      await channelsReady(t, author.authorId);
      const stored = await notify(t, author.authorId);
      const next = (await socket.untilMessage(
        (m) => typeof m === 'object' && m.type === 'next' && m.id === 'genuine',
        'the notification',
      )) as { payload: { data: { notifications: { id: string } } } };
      expect(next.payload.data.notifications.id).toBe(stored.id);
      expect(socket.messages.filter(isType('next'))).toHaveLength(1);
    },
  ),
  row(
    'queries and mutations over the socket: me, updateProfile, a mutation chosen by operationName (error, nothing run)',
    async (t) => {
      const author = await registerAuthor(t, 'bearer');
      const profile = async () =>
        (await t.http().get('/auth/profile').set(bearer(author.token!)).expect(200)).body;
      const profileBefore = await profile();
      const socket = await acknowledged(t, author.token!);
      const onlySubscriptions = {
        message:
          'Only subscriptions are served over WebSocket; send queries and mutations to POST /graphql',
        code: 'BAD_REQUEST',
      };
      const operations: [string, string, string?][] = [
        ['query', 'query { me { id email } }'],
        ['anonymous', '{ me { id email } }'],
        ['mutation', 'mutation { updateProfile(input: { bio: "written over a socket" }) { id } }'],
        [
          'chosen',
          `subscription S { notifications { id } } mutation M { updateProfile(input: { name: "Pwned" }) { id } }`,
          'M',
        ],
      ];
      for (const [id, query, operationName] of operations) {
        socket.send({ id, type: 'subscribe', payload: { query, operationName } });
        expect(await operationErrors(socket, id)).toEqual([onlySubscriptions]);
      }
      expect(socket.messages.filter(isType('next'))).toEqual([]);
      expect(socket.closedWith).toBeUndefined();
      expect(await profile()).toEqual(profileBefore);
    },
  ),
  row(
    'messages only a server sends (connection_ack, next, error), before connection_init and after the ack (4400)',
    async (t) => {
      const author = await registerAuthor(t, 'bearer');
      const serverMessages = [
        { type: 'connection_ack' },
        { type: 'next', id: '1', payload: { data: { notifications: { id: '1' } } } },
        { type: 'error', id: '1', payload: [{ message: 'x' }] },
      ];
      for (const message of serverMessages) {
        const early = new RawSocket(socketUrl(t.baseUrl));
        await early.untilOpen();
        early.send(message);
        await expectClosed(early, 4400);
        expect(early.messages).toEqual([]);

        const late = await acknowledged(t, author.token!);
        late.send(message);
        await expectClosed(late, 4400);
        expect(late.messages).toEqual([ACK]);
      }
    },
  ),
  row(
    '200 sockets that connect and never send connection_init (all 4408, nothing left behind)',
    async (t, before) => {
      const connectionsBefore = await serverConnections(t);
      const idle = Array.from({ length: 200 }, () => new RawSocket(socketUrl(t.baseUrl)));
      await Promise.all(idle.map((socket) => socket.untilOpen(10_000)));
      expect(await serverConnections(t)).toBeGreaterThanOrEqual(200);

      // While they wait, a genuine subscriber is served.
      await expectStillServing(t);
      const closes = await Promise.all(idle.map((socket) => socket.untilClosed(10_000)));
      for (const closed of closes) {
        expect(closed).toMatchObject({ code: 4408, reason: 'Connection initialisation timeout' });
      }
      for (const socket of idle) expect(socket.messages).toEqual([]);

      expect(await metric(t, WS_OPEN)).toBe(before);
      // A few HTTP connections of the probes above may still be closing; none of the 200 is left.
      await waitFor(async () => (await serverConnections(t)) <= connectionsBefore + 5, {
        message: 'the idle sockets’ connections gone',
      });
    },
  ),
];

export const attacks: Attack[] = [
  ...hijackingAttacks,
  ...urlAttacks,
  ...ticketAttacks,
  ...identityAttacks,
  ...tokenAttacks,
  ...protocolAttacks,
];
