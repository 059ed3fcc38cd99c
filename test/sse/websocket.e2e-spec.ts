import { NotifyService } from '../../src/notifications/notify.service';
import { login, registerAuthor, type SignedIn } from '../support/auth';
import { channelsReady } from '../support/channels';
import { metric } from '../support/metrics';
import { closeAllStreams, openRawStream } from '../support/sse-client';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import {
  closeAllSockets,
  initRaw,
  NOTIFICATIONS_SUBSCRIPTION,
  type ProtocolMessage,
  RawSocket,
  socketUrl,
  subscribeNotifications,
  type NotificationSubscription,
} from '../support/ws-client';

// Issue #17, the notification stream as a GraphQL subscription over WebSocket (README: Real time
// over WebSocket), with a real graphql-ws client: how a socket authenticates (first message, or
// the cookie with an allowed Origin, never the URL), what it delivers and replays, and the close
// codes that end it. Two instances, and attacks by hand, are in websocket-cluster.e2e-spec.ts and
// test/security.

const ALLOWED_ORIGIN = 'https://app.example.test';
const FOREIGN_ORIGIN = 'https://evil.example.test';

const NOTIFICATIONS_QUERY =
  '{ notifications(first: 50) { nodes { id type action entity payload createdAt seenAt } } }';

/** Stores and publishes a notification through the service, as the app's own features do. */
function notify(t: TestApp, userId: number, payload: Record<string, unknown> = { n: 1 }) {
  return t.app.get(NotifyService).notify(userId, 'mention', 'create', 'comment', payload);
}

async function ticketFor(t: TestApp, token: string): Promise<string> {
  const res = await t
    .http()
    .post('/sse/ticket')
    .set('Authorization', `Bearer ${token}`)
    .expect(200);
  return res.body.ticket as string;
}

/** The notifications query over HTTP, newest first, as the user sees them there. */
async function queried(t: TestApp, who: SignedIn) {
  const res = await t
    .http()
    .post('/graphql')
    .set('Authorization', `Bearer ${who.token}`)
    .send({ query: NOTIFICATIONS_QUERY })
    .expect(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.notifications.nodes as Record<string, unknown>[];
}

/** Subscribes with a bearer token and waits until the app listens for the user. */
async function subscribed(
  t: TestApp,
  who: SignedIn,
  after?: string,
): Promise<NotificationSubscription> {
  const subscription = subscribeNotifications(t.baseUrl, { params: { token: who.token }, after });
  await subscription.untilAcknowledged();
  await channelsReady(t, who.authorId);
  return subscription;
}

const isType = (type: string) => (message: ProtocolMessage) =>
  typeof message === 'object' && message.type === type;

describe('GraphQL subscriptions over WebSocket', () => {
  afterEach(() => {
    closeAllSockets();
    closeAllStreams();
  });

  describe('on an app behind a trusted proxy, with CORS_ORIGINS', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ TRUST_PROXY: 'true', CORS_ORIGINS: ALLOWED_ORIGIN });
    });
    afterAll(() => t.close());

    describe('authentication', () => {
      it('accepts a bearer token in connection_init and delivers the same object the notifications query returns', async () => {
        const author = await registerAuthor(t, 'bearer');
        const subscription = await subscribed(t, author);

        const row = await notify(t, author.authorId, { comment_id: 11, text: 'hi' });

        const [received] = await subscription.untilNotifications(1);
        expect(received.id).toBe(row.id);
        expect(JSON.parse(received.payload)).toEqual({ comment_id: 11, text: 'hi' });
        expect(received).toEqual((await queried(t, author))[0]);
        expect(subscription.errors).toEqual([]);
      });

      it('accepts a one-time ticket, and refuses the same ticket again with 4401 and no ack', async () => {
        const author = await registerAuthor(t, 'bearer');
        const ticket = await ticketFor(t, author.token!);
        const first = subscribeNotifications(t.baseUrl, { params: { ticket } });
        await first.untilAcknowledged();
        await channelsReady(t, author.authorId);
        const row = await notify(t, author.authorId);
        expect((await first.untilNotifications(1))[0].id).toBe(row.id);

        const replay = await initRaw(t.baseUrl, { ticket });
        expect(await replay.untilClosed()).toMatchObject({ code: 4401, reason: 'Unauthorized' });
        expect(replay.messages.filter(isType('connection_ack'))).toEqual([]);
        // The first socket is unaffected by the replay.
        expect(first.closedWith).toBeUndefined();
      });

      it('accepts the session cookie when the upgrade comes from an allowed Origin', async () => {
        const author = await registerAuthor(t, 'cookie');
        const subscription = subscribeNotifications(t.baseUrl, {
          upgrade: { cookie: author.cookie, origin: ALLOWED_ORIGIN },
        });
        await subscription.untilAcknowledged();
        await channelsReady(t, author.authorId);
        const row = await notify(t, author.authorId);
        expect((await subscription.untilNotifications(1))[0].id).toBe(row.id);
      });

      it('accepts the cookie from the service’s own origin', async () => {
        const author = await registerAuthor(t, 'cookie');
        const socket = await initRaw(t.baseUrl, undefined, {
          cookie: author.cookie,
          origin: new URL(t.baseUrl).origin,
        });
        expect(socket.messages).toEqual([{ type: 'connection_ack' }]);
      });

      it('refuses the cookie from a foreign Origin with 403 on the upgrade, before any socket exists', async () => {
        const author = await registerAuthor(t, 'cookie');
        const socket = new RawSocket(socketUrl(t.baseUrl), {
          cookie: author.cookie,
          origin: FOREIGN_ORIGIN,
        });
        const refused = await socket.untilRefused();
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body)).toEqual({
          statusCode: 403,
          message: `Origin ${FOREIGN_ORIGIN} is not allowed`,
        });
        expect(socket.opened).toBe(false);
        expect(await metric(t, 'tessera_ws_open_connections')).toBe(0);
      });

      it('refuses the cookie without an Origin (4401): a browser always sends one', async () => {
        const author = await registerAuthor(t, 'cookie');
        const socket = await initRaw(t.baseUrl, {}, { cookie: author.cookie });
        expect(await socket.untilClosed()).toMatchObject({ code: 4401 });
        expect(socket.messages).toEqual([]);
      });

      it.each([
        ['a forged token', { token: 'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl' }],
        ['a token that is not a string', { token: 42 }],
        ['an unknown ticket', { ticket: 'A'.repeat(32) }],
        ['a ticket that is not a string', { ticket: ['x'] }],
        ['no credentials at all', {}],
      ])('closes with 4401 and no ack on %s', async (_what, payload) => {
        const socket = await initRaw(t.baseUrl, payload);
        expect(await socket.untilClosed()).toMatchObject({ code: 4401, reason: 'Unauthorized' });
        expect(socket.messages).toEqual([]);
      });

      it('closes with 4401 the token of a session that was logged out', async () => {
        const author = await registerAuthor(t, 'bearer');
        await t
          .http()
          .post('/auth/logout')
          .set('Authorization', `Bearer ${author.token}`)
          .expect(204);
        const socket = await initRaw(t.baseUrl, { token: author.token });
        expect(await socket.untilClosed()).toMatchObject({ code: 4401 });
        expect(socket.messages).toEqual([]);
      });

      it('closes with 4408 a socket that sends no connection_init within 3 s', async () => {
        const socket = new RawSocket(socketUrl(t.baseUrl));
        await socket.untilOpen();
        const openedAt = Date.now();
        const closed = await socket.untilClosed(6_000);
        expect(closed.code).toBe(4408);
        expect(closed.at - openedAt).toBeGreaterThanOrEqual(2_500);
      });
    });

    describe('delivery', () => {
      it('replays exactly what was stored after `after`, in order, then live ones, without a duplicate', async () => {
        const author = await registerAuthor(t, 'bearer');
        const seen = await notify(t, author.authorId, { n: 0 });
        const missed = [
          await notify(t, author.authorId, { n: 1 }),
          await notify(t, author.authorId, { n: 2 }),
          await notify(t, author.authorId, { n: 3 }),
        ];
        // Another user's notification in between is not theirs to see.
        const other = await registerAuthor(t, 'bearer');
        await notify(t, other.authorId, { n: 99 });

        const subscription = await subscribed(t, author, seen.id);
        const live = await notify(t, author.authorId, { n: 4 });

        const received = await subscription.untilNotifications(4);
        expect(received.map((n) => n.id)).toEqual([...missed.map((row) => row.id), live.id]);
        expect(received.map((n) => JSON.parse(n.payload).n)).toEqual([1, 2, 3, 4]);
        expect(await metric(t, 'tessera_sse_replays_total')).toBeGreaterThanOrEqual(1);
      });

      it('starts after the newest stored notification when `after` is not given', async () => {
        const author = await registerAuthor(t, 'bearer');
        await notify(t, author.authorId, { n: 'old' });
        const subscription = await subscribed(t, author);
        const live = await notify(t, author.authorId, { n: 'new' });
        await subscription.untilNotifications(1);
        expect(subscription.notifications.map((n) => n.id)).toEqual([live.id]);
      });

      it('delivers what was stored between the ack and the subscribe message, with no `after`', async () => {
        const author = await registerAuthor(t, 'bearer');
        await notify(t, author.authorId, { n: 'before the ack' });
        const socket = await initRaw(t.baseUrl, { token: author.token });
        expect(socket.messages).toEqual([{ type: 'connection_ack' }]);
        const between = await notify(t, author.authorId, { n: 'after the ack' });

        socket.send({
          id: '1',
          type: 'subscribe',
          payload: { query: NOTIFICATIONS_SUBSCRIPTION, variables: {} },
        });
        const next = await socket.untilMessage(isType('next'), 'the notification');
        expect(next).toMatchObject({
          id: '1',
          payload: { data: { notifications: { id: between.id } } },
        });
        expect(socket.messages.filter(isType('next'))).toHaveLength(1);
      });

      it.each([['abc'], ['-1'], ['1'.repeat(16)]])(
        'answers `after: %s` with BAD_USER_INPUT, not a crash',
        async (after) => {
          const author = await registerAuthor(t, 'bearer');
          const subscription = subscribeNotifications(t.baseUrl, {
            params: { token: author.token },
            after,
          });
          const error = await subscription.untilError();
          expect(error).toMatchObject({
            message: 'after must be a notification id',
            extensions: { code: 'BAD_USER_INPUT' },
          });
          expect(subscription.closedWith).toBeUndefined();
        },
      );

      it('refuses the subscription over POST /graphql, saying where it is served', async () => {
        const author = await registerAuthor(t, 'bearer');
        const res = await t
          .http()
          .post('/graphql')
          .set('Authorization', `Bearer ${author.token}`)
          .send({ query: 'subscription { notifications { id } }' });
        expect(res.status).toBe(400);
        expect(res.body.data ?? null).toBeNull();
        expect(res.body.errors).toEqual([
          expect.objectContaining({
            message: 'Subscriptions are served over WebSocket at /graphql',
            extensions: { code: 'BAD_REQUEST' },
          }),
        ]);
      });

      it('counts open sockets in /metrics beside SSE streams', async () => {
        const author = await registerAuthor(t, 'bearer');
        const before = await metric(t, 'tessera_ws_open_connections');
        const sseBefore = await metric(t, 'tessera_sse_open_streams');
        const subscription = await subscribed(t, author);
        expect(await metric(t, 'tessera_ws_open_connections')).toBe(before + 1);
        expect(await metric(t, 'tessera_sse_open_streams')).toBe(sseBefore);
        subscription.close();
        await waitFor(async () => (await metric(t, 'tessera_ws_open_connections')) === before, {
          message: 'socket no longer counted',
        });
      });
    });

    describe('revocation', () => {
      it('closes with 4401 session_revoked within a second of a logout elsewhere', async () => {
        const author = await registerAuthor(t, 'bearer');
        const other = await login(t, author.email, author.password, 'bearer');
        const subscription = await subscribed(t, author);
        const untouched = await subscribed(t, { ...author, token: other.token });

        const loggedOutAt = Date.now();
        await t
          .http()
          .post('/auth/logout')
          .set('Authorization', `Bearer ${author.token}`)
          .expect(204);

        const closed = await subscription.untilClosed(2_000);
        expect(closed).toMatchObject({ code: 4401, reason: 'session_revoked' });
        expect(closed.at - loggedOutAt).toBeLessThan(1_000);
        // The author's other session keeps its socket.
        const row = await notify(t, author.authorId);
        expect((await untouched.untilNotifications(1))[0].id).toBe(row.id);
        expect(untouched.closedWith).toBeUndefined();
      });
    });
  });

  describe('with SSE_MAX_PER_USER=2 and SSE_MAX_LIFETIME_S=2', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ SSE_MAX_PER_USER: '2', SSE_MAX_LIFETIME_S: '2' });
    });
    afterAll(() => t.close());

    it('counts SSE streams and sockets together under one cap: 4429 for a socket, 429 for a stream', async () => {
      const author = await registerAuthor(t, 'bearer');
      const stream = await openRawStream(new URL('/sse/notifications', t.baseUrl), {
        bearer: author.token,
      });
      expect(stream.status).toBe(200);
      const socket = await initRaw(t.baseUrl, { token: author.token });
      expect(socket.messages).toEqual([{ type: 'connection_ack' }]);

      const third = await initRaw(t.baseUrl, { token: author.token });
      expect(await third.untilClosed()).toMatchObject({
        code: 4429,
        reason: 'Too many open streams for this user',
      });
      const thirdStream = await openRawStream(new URL('/sse/notifications', t.baseUrl), {
        bearer: author.token,
      });
      expect(thirdStream.status).toBe(429);

      // A closed socket frees its slot.
      socket.close();
      await waitFor(
        async () => {
          const retry = await initRaw(t.baseUrl, { token: author.token });
          return retry.messages.some(isType('connection_ack'));
        },
        { message: 'a slot freed', intervalMs: 100 },
      );
    });

    it('closes with 4000 reconnect after SSE_MAX_LIFETIME_S', async () => {
      const author = await registerAuthor(t, 'bearer');
      const subscription = await subscribed(t, author);
      const openedAt = Date.now();
      const closed = await subscription.untilClosed(4_000);
      expect(closed).toMatchObject({ code: 4000, reason: 'reconnect' });
      expect(closed.at - openedAt).toBeGreaterThanOrEqual(1_500);
    });
  });

  describe('at shutdown', () => {
    it('closes every socket with 4000 reconnect before the app stops', async () => {
      const t = await startTestApp();
      try {
        const first = await registerAuthor(t, 'bearer');
        const second = await registerAuthor(t, 'bearer');
        const sockets = [await subscribed(t, first), await subscribed(t, second)];
        const pending = new RawSocket(socketUrl(t.baseUrl));
        await pending.untilOpen();

        // The app's own shutdown, as on SIGTERM; t.close() below then removes its data.
        await t.app.close();

        for (const socket of sockets) {
          expect(await socket.untilClosed()).toMatchObject({ code: 4000, reason: 'reconnect' });
        }
        // Not yet authenticated, told all the same.
        expect(await pending.untilClosed()).toMatchObject({ code: 4000, reason: 'reconnect' });
      } finally {
        await t.close();
      }
    });
  });
});
