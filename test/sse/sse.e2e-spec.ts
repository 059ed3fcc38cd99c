import { execFile } from 'node:child_process';
import { request as httpRequest, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { NotificationRepository } from '../../src/infra/database/tables/notification.repository';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import type { Notification } from '../../src/infra/database/tables/notification.entity';
import { NotifyService } from '../../src/notifications/notify.service';
import { login, registerAuthor, type SignedIn } from '../support/auth';
import {
  closeAllStreams,
  connectEventSource,
  openRawStream,
  type RawStream,
  type SseFrame,
} from '../support/sse-client';
import { SERVICES, startTestApp, type TestApp } from '../support/test-app';
import { metric } from '../support/metrics';
import { waitFor } from '../support/wait-for';
import { channelsReady } from '../support/channels';

// Issue #6, the notification stream (README: Real-time notifications): who may open it, what goes over the wire,
// resuming with Last-Event-ID, the ways it ends, and what it shows in /metrics.
//
// Design under test: Nest numbers events that have no id, so every event that is not a stored
// notification (connected, session_revoked, reconnect, messages published without an id) carries
// the stream's position as its id: the last notification delivered, or on a fresh connection the
// user's newest stored notification (0 if none). A client that sends it back loses nothing.

const execFileAsync = promisify(execFile);

const ALLOWED_ORIGIN = 'https://app.example.test';
const FOREIGN_ORIGIN = 'https://evil.example.test';

const STREAM = '/sse/notifications';
const FOLLOW = 'mutation Follow($authorId: Int!) { follow(authorId: $authorId) }';

const streamUrl = (t: TestApp, query: Record<string, string> = {}) => {
  const url = new URL(STREAM, t.baseUrl);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url;
};

/** The data of the `connected` event for a user. */
const connectedData = (userId: number) => `{"type":"connected","user_id":${userId}}`;

/**
 * The wire form the README describes, built by hand rather than with the app's own toWire.
 * Key order is that of the stored jsonb, which keeps shorter keys first: payloads in these tests
 * list theirs that way, so the string is exact.
 */
function wireOf(row: Notification, expected: { type: string; action: string; entity: string }) {
  return JSON.stringify({
    id: Number(row.id),
    type: expected.type,
    action: expected.action,
    entity: expected.entity,
    payload: row.payload,
    created_at: row.createdAt,
  });
}

/** Stores and publishes a notification through the service, as the app's own features do. */
function notify(t: TestApp, userId: number, payload: Record<string, unknown> = { n: 1 }) {
  return t.app.get(NotifyService).notify(userId, 'mention', 'create', 'comment', payload);
}

/** A one-time stream ticket for a bearer session; `headers` go on the ticket request. */
async function ticketFor(t: TestApp, token: string, headers: Record<string, string> = {}) {
  const res = await t
    .http()
    .post('/sse/ticket')
    .set('Authorization', `Bearer ${token}`)
    .set(headers)
    .expect(200);
  expect(res.body).toEqual({
    ticket: expect.stringMatching(/^[A-Za-z0-9_-]{16,128}$/),
    expires_in: t.config.sse.ticketTtlS,
  });
  return res.body.ticket as string;
}

/** Opens a stream and waits for its `connected` event and its subscriptions. */
async function connected(t: TestApp, auth: Parameters<typeof openRawStream>[1]) {
  const stream = await openRawStream(streamUrl(t), auth);
  expect(stream.status).toBe(200);
  const hello = await stream.untilMessage((m) => m.type === 'connected', 'connected');
  await channelsReady(t, JSON.parse(hello.data!).user_id);
  return stream;
}

/** The data frames of a stream, as parsed JSON. */
const dataOf = (frames: SseFrame[]) =>
  frames.filter((f) => f.data !== undefined).map((f) => JSON.parse(f.data!));

/** Publishes as another process would: redis-cli on the real server, else the shared store. */
async function publishExternally(t: TestApp, channel: string, message: string): Promise<number> {
  if (SERVICES.redisUrl) {
    const { stdout } = await execFileAsync('redis-cli', [
      '-u',
      SERVICES.redisUrl,
      'PUBLISH',
      `${t.config.redis.keyPrefix}${channel}`,
      message,
    ]);
    return Number(stdout.trim());
  }
  return t.app.get<RedisStore>(REDIS_STORE).publish(channel, message);
}

/** Expects a refusal with a JSON body, which stops a browser's EventSource from retrying. */
async function expectJsonError(stream: RawStream, status: number) {
  expect(stream.status).toBe(status);
  expect(stream.headers['content-type']).toMatch(/^application\/json/);
  expect(await stream.json()).toMatchObject({ statusCode: status });
}

describe('SSE notification stream', () => {
  afterEach(() => closeAllStreams());

  describe('on an app behind a trusted proxy, with CORS_ORIGINS and a 1 s heartbeat', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({
        TRUST_PROXY: 'true',
        CORS_ORIGINS: ALLOWED_ORIGIN,
        SSE_HEARTBEAT_S: '1',
      });
    });
    afterAll(() => t.close());

    describe('authentication', () => {
      it('connects by session cookie, and a follow notification arrives with its row id as event id', async () => {
        const author = await registerAuthor(t, 'cookie');
        const follower = await registerAuthor(t, 'bearer');
        const es = connectEventSource(streamUrl(t), { cookie: author.cookie });
        const hello = await es.untilMessage((m) => m?.type === 'connected', 'connected');
        expect(hello.data).toBe(connectedData(author.authorId));
        await channelsReady(t, author.authorId);

        // A real feature creates it: follow → stored → published on follower:{id}.
        const res = await t
          .http()
          .post('/graphql')
          .set('Authorization', `Bearer ${follower.token}`)
          .send({ query: FOLLOW, variables: { authorId: author.authorId } })
          .expect(200);
        expect(res.body).toEqual({ data: { follow: true } });

        const event = await es.untilMessage((m) => m?.type === 'follower', 'follower notification');
        const [row] = await t.app
          .get(DataSource)
          .query('SELECT id, created_at FROM notification WHERE recipient_id = $1', [
            author.authorId,
          ]);
        expect(event.lastEventId).toBe(String(row.id));
        expect(Object.keys(event.json!)).toEqual([
          'id',
          'type',
          'action',
          'entity',
          'payload',
          'created_at',
        ]);
        expect(event.json).toEqual({
          id: Number(row.id),
          type: 'follower',
          action: 'create',
          entity: 'follower',
          payload: {
            follower_id: follower.authorId,
            follower_name: follower.body.author.name,
            following_id: author.authorId,
          },
          created_at: Number(row.created_at),
        });
        expect(es.messages).toHaveLength(2);
      });

      it('connects by bearer token, and a notification arrives with its row id and exact wire JSON', async () => {
        const author = await registerAuthor(t, 'bearer');
        const es = connectEventSource(streamUrl(t), { bearer: author.token });
        const hello = await es.untilMessage((m) => m?.type === 'connected', 'connected');
        expect(hello.data).toBe(connectedData(author.authorId));
        await channelsReady(t, author.authorId);

        const row = await t.app
          .get(NotifyService)
          .notify(author.authorId, 'shout', 'create', 'shout', {
            title: 'Hello',
            shout_id: 7,
            author_id: 3,
            author_name: 'Someone',
          });

        const event = await es.untilMessage((m) => m?.type === 'shout', 'shout notification');
        expect(event.lastEventId).toBe(row.id);
        expect(event.data).toBe(wireOf(row, { type: 'shout', action: 'create', entity: 'shout' }));
        expect(es.messages).toHaveLength(2);
      });

      it('connects by one-time ticket, and a notification arrives with its row id and exact wire JSON', async () => {
        const author = await registerAuthor(t, 'bearer');
        const ticket = await ticketFor(t, author.token!);
        const es = connectEventSource(streamUrl(t, { ticket }));
        const hello = await es.untilMessage((m) => m?.type === 'connected', 'connected');
        expect(hello.data).toBe(connectedData(author.authorId));
        await channelsReady(t, author.authorId);

        // A type without a channel of its own goes out on notifications:{id}.
        const row = await notify(t, author.authorId, { comment_id: 11 });

        const event = await es.untilMessage((m) => m?.type === 'mention', 'mention notification');
        expect(event.lastEventId).toBe(row.id);
        expect(event.data).toBe(
          wireOf(row, { type: 'mention', action: 'create', entity: 'comment' }),
        );
      });

      it('refuses a ticket the second time (401), even while its first stream is open', async () => {
        const author = await registerAuthor(t, 'bearer');
        const ticket = await ticketFor(t, author.token!);
        const first = await openRawStream(streamUrl(t, { ticket }));
        expect(first.status).toBe(200);

        await expectJsonError(await openRawStream(streamUrl(t, { ticket })), 401);
        first.close();
        await expectJsonError(await openRawStream(streamUrl(t, { ticket })), 401);
      });

      it('refuses a ticket presented from another client IP than it was issued to (401), and spends it', async () => {
        const author = await registerAuthor(t, 'bearer');
        const ticket = await ticketFor(t, author.token!, { 'X-Forwarded-For': '10.0.0.1' });

        const elsewhere = await openRawStream(streamUrl(t, { ticket }), {
          headers: { 'X-Forwarded-For': '10.0.0.2' },
        });
        await expectJsonError(elsewhere, 401);
        // Whoever holds a leaked ticket gets no second try, not even from the right address.
        const again = await openRawStream(streamUrl(t, { ticket }), {
          headers: { 'X-Forwarded-For': '10.0.0.1' },
        });
        await expectJsonError(again, 401);

        // Control: from the address it was issued to, a fresh ticket works.
        const fresh = await ticketFor(t, author.token!, { 'X-Forwarded-For': '10.0.0.1' });
        const stream = await openRawStream(streamUrl(t, { ticket: fresh }), {
          headers: { 'X-Forwarded-For': '10.0.0.1' },
        });
        expect(stream.status).toBe(200);
      });

      it('refuses a ticket whose session was signed out after it was issued (401)', async () => {
        const author = await registerAuthor(t, 'bearer');
        const ticket = await ticketFor(t, author.token!);
        await t
          .http()
          .post('/auth/logout')
          .set('Authorization', `Bearer ${author.token}`)
          .expect(204);
        await expectJsonError(await openRawStream(streamUrl(t, { ticket })), 401);
      });

      it('refuses malformed and unknown tickets (401)', async () => {
        const author = await registerAuthor(t, 'bearer');
        const ticket = await ticketFor(t, author.token!);
        for (const query of ['ticket=short', `ticket=${'A'.repeat(32)}`, 'ticket=a&ticket=b']) {
          const url = new URL(`${STREAM}?${query}`, t.baseUrl);
          await expectJsonError(await openRawStream(url), 401);
        }
        // None of those spent the real one.
        expect((await openRawStream(streamUrl(t, { ticket }))).status).toBe(200);
      });

      it('answers a request without credentials with 401 and a JSON body', async () => {
        const stream = await openRawStream(streamUrl(t));
        expect(stream.status).toBe(401);
        expect(stream.headers['content-type']).toMatch(/^application\/json/);
        expect(await stream.json()).toEqual({
          statusCode: 401,
          message: expect.any(String),
          error: 'Unauthorized',
        });
        expect(stream.frames).toEqual([]);
      });

      it('stops a real EventSource on 401 instead of retrying', async () => {
        const es = connectEventSource(streamUrl(t));
        await waitFor(() => es.errors.length > 0, { message: 'error event' });
        expect(es.errors[0].code).toBe(401);
        expect(es.source.readyState).toBe(es.source.CLOSED);
        expect(es.opens).toBe(0);
      });

      it('refuses forged tokens (401)', async () => {
        const victim = await registerAuthor(t, 'bearer');
        const attacker = await registerAuthor(t, 'bearer');
        const [header, payload, signature] = attacker.token!.split('.');
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        const swapped = Buffer.from(
          JSON.stringify({ ...claims, user_id: victim.authorId }),
        ).toString('base64url');
        const unsigned = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString(
          'base64url',
        );
        const forgeries = [
          `${header}.${swapped}.${signature}`, // another user's id under the attacker's signature
          `${unsigned}.${swapped}.`, // alg: none
          `${header}.${payload}.${signature.slice(0, -2)}AA`, // tampered signature
        ];
        for (const token of forgeries) {
          await expectJsonError(await openRawStream(streamUrl(t), { bearer: token }), 401);
          await expectJsonError(
            await openRawStream(streamUrl(t), { cookie: `${t.config.cookie.name}=${token}` }),
            401,
          );
        }
        // Control: the untouched token is accepted.
        expect((await openRawStream(streamUrl(t), { bearer: attacker.token })).status).toBe(200);
      });

      it('refuses the token of a session that was signed out (401)', async () => {
        const author = await registerAuthor(t, 'bearer');
        await t
          .http()
          .post('/auth/logout')
          .set('Authorization', `Bearer ${author.token}`)
          .expect(204);
        await expectJsonError(await openRawStream(streamUrl(t), { bearer: author.token }), 401);
      });

      it('lets the first credential decide: a spent ticket with a valid cookie is 401', async () => {
        const author = await registerAuthor(t, 'cookie');
        const bearer = await login(t, author.email, author.password, 'bearer');
        const ticket = await ticketFor(t, bearer.token!);
        expect((await openRawStream(streamUrl(t, { ticket }))).status).toBe(200);

        const stale = await openRawStream(streamUrl(t, { ticket }), { cookie: author.cookie });
        await expectJsonError(stale, 401);
        // Without a ticket the rule of every route applies: a bearer header decides over the
        // cookie, so a forged one is refused rather than replaced by the valid cookie.
        const forgedBearer = await openRawStream(streamUrl(t), {
          cookie: author.cookie,
          bearer: 'not.a.token',
        });
        await expectJsonError(forgedBearer, 401);
        // Control: the cookie alone is accepted.
        expect((await openRawStream(streamUrl(t), { cookie: author.cookie })).status).toBe(200);
      });

      it('refuses a foreign Origin with 403, even with a valid cookie, and sends it no CORS grant', async () => {
        const author = await registerAuthor(t, 'cookie');
        const ticket = await ticketFor(t, (await login(t, author.email, author.password)).token!);
        const attempts: { query: Record<string, string>; auth: object; origin: string }[] = [
          { query: {}, auth: { cookie: author.cookie }, origin: FOREIGN_ORIGIN },
          { query: { ticket }, auth: {}, origin: FOREIGN_ORIGIN },
          // A sandboxed iframe or a redirect says `null`.
          { query: {}, auth: { cookie: author.cookie }, origin: 'null' },
          // Only the exact origin counts, not one that merely starts like it.
          { query: {}, auth: { cookie: author.cookie }, origin: `${ALLOWED_ORIGIN}.evil.test` },
        ];
        for (const { query, auth, origin } of attempts) {
          const stream = await openRawStream(streamUrl(t, query), {
            ...auth,
            headers: { Origin: origin },
          });
          await expectJsonError(stream, 403);
          expect(stream.headers['access-control-allow-origin']).toBeUndefined();
          expect(stream.frames).toEqual([]);
        }
        // The refusal came before the ticket was looked at: it still works from the app's origin.
        expect((await openRawStream(streamUrl(t, { ticket }))).status).toBe(200);
      });

      it('refuses a foreign or unparsable Referer without Origin with 403 before any stream, whatever the credential', async () => {
        const author = await registerAuthor(t, 'cookie');
        const bearer = (await login(t, author.email, author.password)).token!;
        const ticket = await ticketFor(t, bearer);
        const attempts: { query: Record<string, string>; auth: object; referer: string }[] = [
          // What a page on another site sends when it points an EventSource (or a tag) here.
          { query: {}, auth: { cookie: author.cookie }, referer: 'http://evil.example/' },
          { query: {}, auth: { cookie: author.cookie }, referer: `${FOREIGN_ORIGIN}/page?x=1` },
          { query: {}, auth: { bearer }, referer: `${FOREIGN_ORIGIN}/` },
          { query: { ticket }, auth: {}, referer: `${FOREIGN_ORIGIN}/` },
          // Not a URL: no origin can be read from it, so it is none of the allowed ones.
          { query: {}, auth: { cookie: author.cookie }, referer: 'not a url' },
          // Only the exact origin counts, not one that merely starts like it.
          { query: {}, auth: { cookie: author.cookie }, referer: `${ALLOWED_ORIGIN}.evil.test/` },
        ];
        for (const { query, auth, referer } of attempts) {
          const stream = await openRawStream(streamUrl(t, query), {
            ...auth,
            headers: { Referer: referer },
          });
          await expectJsonError(stream, 403);
          expect(stream.headers['access-control-allow-origin']).toBeUndefined();
          expect(stream.frames).toEqual([]);
        }
        // Nothing was spent or opened: no stream slot was taken, and the ticket still works.
        const store = t.app.get<RedisStore>(REDIS_STORE);
        expect(await store.scard(`sse_user_streams:${author.authorId}`)).toBe(0);
        const byTicket = await openRawStream(streamUrl(t, { ticket }));
        expect(byTicket.status).toBe(200);
      });

      it('serves a Referer of CORS_ORIGINS or of the service itself, and a request with neither header', async () => {
        const author = await registerAuthor(t, 'cookie');
        const bearer = (await login(t, author.email, author.password)).token!;
        const allowed = await connected(t, {
          cookie: author.cookie,
          headers: { Referer: `${ALLOWED_ORIGIN}/feed` },
        });
        expect(dataOf(allowed.frames)[0]).toEqual({ type: 'connected', user_id: author.authorId });
        await connected(t, { cookie: author.cookie, headers: { Referer: `${t.baseUrl}/demo/` } });
        // An allowed Origin decides when both are sent, as for REST.
        await connected(t, {
          cookie: author.cookie,
          headers: { Origin: ALLOWED_ORIGIN, Referer: `${FOREIGN_ORIGIN}/` },
        });
        // curl and server clients send neither.
        await connected(t, { cookie: author.cookie });
        await connected(t, { bearer });
      });

      it('serves an Origin of CORS_ORIGINS, and the service’s own, with credentialed CORS headers', async () => {
        const author = await registerAuthor(t, 'cookie');
        const allowed = await connected(t, {
          cookie: author.cookie,
          headers: { Origin: ALLOWED_ORIGIN },
        });
        expect(allowed.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
        expect(allowed.headers['access-control-allow-credentials']).toBe('true');

        const own = await connected(t, { cookie: author.cookie, headers: { Origin: t.baseUrl } });
        expect(dataOf(own.frames)[0]).toEqual({ type: 'connected', user_id: author.authorId });
      });
    });

    describe('wire format', () => {
      it('streams with text/event-stream, no-cache, X-Accel-Buffering: no, and no compression', async () => {
        const author = await registerAuthor(t, 'bearer');
        const stream = await openRawStream(streamUrl(t), {
          bearer: author.token,
          headers: { 'Accept-Encoding': 'gzip, deflate, br' },
        });
        expect(stream.status).toBe(200);
        expect(stream.headers['content-type']).toMatch(/^text\/event-stream\b/);
        expect(stream.headers['cache-control']).toContain('no-cache');
        expect(stream.headers['x-accel-buffering']).toBe('no');
        expect(stream.headers['content-encoding']).toBeUndefined();
        expect(stream.headers['content-length']).toBeUndefined();
        // Not buffered: the first event is readable as plain text while the response is open.
        await stream.until((frames) => frames.length > 0, 'first frame');
        expect(stream.ended).toBe(false);
      });

      it('starts with retry: 3000 and the connected event, in these bytes', async () => {
        const author = await registerAuthor(t, 'bearer');
        const stream = await connected(t, { bearer: author.token });
        // The position of a user without notifications is 0.
        expect(stream.frames[0].raw).toBe(
          `id: 0\nretry: 3000\ndata: ${connectedData(author.authorId)}`,
        );
        expect(stream.body).toMatch(
          new RegExp(
            `^\\n*id: 0\\nretry: 3000\\ndata: ${escapeRegExp(connectedData(author.authorId))}\\n\\n`,
          ),
        );
      });

      it('gives the connected event the id of the user’s newest stored notification', async () => {
        const author = await registerAuthor(t, 'bearer');
        await notify(t, author.authorId);
        const newest = await notify(t, author.authorId);
        const stream = await connected(t, { bearer: author.token });
        expect(stream.frames[0]).toMatchObject({ id: newest.id, retry: 3000 });
        // Nothing stored before the connection is replayed without Last-Event-ID.
        const later = await notify(t, author.authorId);
        await stream.untilMessage((m) => m.id === Number(later.id), 'live notification');
        expect(dataOf(stream.frames).map((m) => m.id ?? m.type)).toEqual([
          'connected',
          Number(later.id),
        ]);
      });

      it('delivers a notification stored while the stream was still subscribing to its channels', async () => {
        const author = await registerAuthor(t, 'bearer');
        const store = t.app.get<RedisStore>(REDIS_STORE);
        // A slow SUBSCRIBE round trip, held open until the notification is stored and published.
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        const subscribe = store.subscribe;
        store.subscribe = async (channel, listener) => {
          if (channel === `notifications:${author.authorId}`) await held;
          return subscribe.call(store, channel, listener);
        };
        try {
          const stream = await openRawStream(streamUrl(t), { bearer: author.token });
          const hello = await stream.untilMessage((m) => m.type === 'connected', 'connected');
          expect(hello.id).toBe('0');
          // The client was told it is at 0: anything stored after that is its to receive.
          const row = await notify(t, author.authorId);
          release();
          await stream.untilMessage(
            (m) => m.id === Number(row.id),
            'notification stored meanwhile',
          );
        } finally {
          release();
          store.subscribe = subscribe;
        }
      });

      it('sends a `: ping` comment without id every SSE_HEARTBEAT_S', async () => {
        const author = await registerAuthor(t, 'bearer');
        const stream = await connected(t, { bearer: author.token });
        await stream.until(
          (frames) => frames.filter((f) => f.comments.includes('ping')).length >= 2,
          'two heartbeats',
        );
        const pings = stream.frames.filter((f) => f.comments.includes('ping'));
        for (const ping of pings) expect(ping.raw).toBe(': ping');
        expect(stream.body).toContain('\n\n: ping\n\n');
        // One second apart, give or take scheduling.
        expect(pings[1].at - pings[0].at).toBeGreaterThanOrEqual(700);
        expect(stream.dataFrames).toHaveLength(1);
      });
    });

    describe('resuming with Last-Event-ID', () => {
      /** Connects, receives one notification, disconnects, and misses five. */
      async function missFive(author: SignedIn) {
        const first = await connected(t, { bearer: author.token });
        const seen = await notify(t, author.authorId, { n: 0 });
        const frame = await first.untilMessage((m) => m.id === Number(seen.id), 'first one');
        expect(frame.id).toBe(seen.id);
        first.close();
        const missed: Notification[] = [];
        for (let n = 1; n <= 5; n++) missed.push(await notify(t, author.authorId, { n }));
        return { lastEventId: frame.id!, missed };
      }

      async function expectReplayThenLive(
        stream: RawStream,
        author: SignedIn,
        missed: Notification[],
        lastEventId: string,
      ) {
        expect(stream.status).toBe(200);
        await stream.until((frames) => dataOf(frames).length >= 6, 'replay of five');
        const replayed = stream.dataFrames.slice(1, 6);
        expect(replayed.map((f) => f.id)).toEqual(missed.map((row) => row.id));
        expect(replayed.map((f) => f.data)).toEqual(
          missed.map((row) =>
            wireOf(row, { type: 'mention', action: 'create', entity: 'comment' }),
          ),
        );
        // The connected event resumes from where the client was.
        expect(stream.dataFrames[0].id).toBe(lastEventId);

        const live = await notify(t, author.authorId, { n: 6 });
        await stream.untilMessage((m) => m.id === Number(live.id), 'live one after the replay');
        expect(stream.dataFrames.map((f) => f.id)).toEqual([
          lastEventId,
          ...missed.map((row) => row.id),
          live.id,
        ]);
      }

      it('replays exactly the missed notifications, in order, then live ones (header)', async () => {
        const author = await registerAuthor(t, 'bearer');
        const { lastEventId, missed } = await missFive(author);
        const stream = await openRawStream(streamUrl(t), {
          bearer: author.token,
          headers: { 'Last-Event-ID': lastEventId },
        });
        await expectReplayThenLive(stream, author, missed, lastEventId);
      });

      it('replays exactly the missed notifications, in order, then live ones (?last_event_id=)', async () => {
        const author = await registerAuthor(t, 'bearer');
        const { lastEventId, missed } = await missFive(author);
        const stream = await openRawStream(streamUrl(t, { last_event_id: lastEventId }), {
          bearer: author.token,
        });
        await expectReplayThenLive(stream, author, missed, lastEventId);
      });

      it('resumes a real EventSource that sends back the id it last received', async () => {
        const author = await registerAuthor(t, 'bearer');
        const { lastEventId, missed } = await missFive(author);
        const es = connectEventSource(streamUrl(t), {
          bearer: author.token,
          headers: { 'Last-Event-ID': lastEventId },
        });
        await es.until((messages) => messages.length >= 6, 'replay of five');
        expect(es.messages.slice(1).map((m) => m.lastEventId)).toEqual(missed.map((r) => r.id));
        expect(es.messages.slice(1).map((m) => m.json?.payload?.n)).toEqual([1, 2, 3, 4, 5]);
      });

      it('does not replay another user’s notifications', async () => {
        const author = await registerAuthor(t, 'bearer');
        const other = await registerAuthor(t, 'bearer');
        const { lastEventId } = await missFive(other);
        const stream = await openRawStream(streamUrl(t), {
          bearer: author.token,
          headers: { 'Last-Event-ID': '0' },
        });
        expect(stream.status).toBe(200);
        const mine = await notify(t, author.authorId);
        await stream.untilMessage((m) => m.id === Number(mine.id), 'own notification');
        expect(dataOf(stream.frames).map((m) => m.id ?? m.type)).toEqual([
          'connected',
          Number(mine.id),
        ]);
        expect(Number(mine.id)).toBeGreaterThan(Number(lastEventId));
      });

      it.each(['abc', '-1', '1.5', '1e3', '0x1F', '12a', '1234567890123456'])(
        'answers a Last-Event-ID of %j with 400, as header and as query',
        async (bad) => {
          const author = await registerAuthor(t, 'bearer');
          const byHeader = await openRawStream(streamUrl(t), {
            bearer: author.token,
            headers: { 'Last-Event-ID': bad },
          });
          await expectJsonError(byHeader, 400);
          const byQuery = await openRawStream(streamUrl(t, { last_event_id: bad }), {
            bearer: author.token,
          });
          await expectJsonError(byQuery, 400);
        },
      );
    });

    describe('messages published by other processes', () => {
      it('delivers any JSON published on notifications:{id}, with the stream position as id', async () => {
        const author = await registerAuthor(t, 'bearer');
        const stored = await notify(t, author.authorId);
        const stream = await connected(t, { bearer: author.token });

        const message = JSON.stringify({ type: 'announcement', text: `hi ${author.authorId}` });
        expect(await publishExternally(t, `notifications:${author.authorId}`, message)).toBe(1);

        const frame = await stream.untilMessage((m) => m.type === 'announcement', 'announcement');
        expect(frame.data).toBe(message);
        expect(frame.id).toBe(stored.id);
      });

      it('drops and counts what is not JSON, and the stream goes on', async () => {
        const author = await registerAuthor(t, 'bearer');
        const stream = await connected(t, { bearer: author.token });
        const dropped = await metric(t, 'tessera_sse_events_dropped_total');

        await publishExternally(t, `notifications:${author.authorId}`, 'not json {');
        await publishExternally(t, `follower:${author.authorId}`, '');
        const after = JSON.stringify({ type: 'announcement', n: 2 });
        await publishExternally(t, `shout:${author.authorId}`, after);

        const frame = await stream.untilMessage((m) => m.type === 'announcement', 'valid one');
        expect(frame.data).toBe(after);
        expect(dataOf(stream.frames)).toEqual([
          { type: 'connected', user_id: author.authorId },
          { type: 'announcement', n: 2 },
        ]);
        expect(stream.ended).toBe(false);
        await waitFor(
          async () => (await metric(t, 'tessera_sse_events_dropped_total')) === dropped + 2,
          { message: 'two drops counted' },
        );
      });

      it('delivers a published message with a numeric id of its own, and stored notifications still follow', async () => {
        const author = await registerAuthor(t, 'bearer');
        const stream = await connected(t, { bearer: author.token });
        const foreign = JSON.stringify({ id: Number.MAX_SAFE_INTEGER, type: 'announcement' });
        await publishExternally(t, `notifications:${author.authorId}`, foreign);
        await stream.untilMessage((m) => m.type === 'announcement', 'announcement');

        const row = await notify(t, author.authorId);
        await stream.untilMessage((m) => m.id === Number(row.id), 'notification after it');
      });

      it('does not deliver a user’s messages to another user’s stream', async () => {
        const author = await registerAuthor(t, 'bearer');
        const other = await registerAuthor(t, 'bearer');
        const stream = await connected(t, { bearer: author.token });
        await publishExternally(t, `notifications:${other.authorId}`, '{"type":"not-yours"}');
        await publishExternally(t, `notifications:${author.authorId}`, '{"type":"yours"}');
        await stream.untilMessage((m) => m.type === 'yours', 'own message');
        expect(dataOf(stream.frames).map((m) => m.type)).toEqual(['connected', 'yours']);
      });
    });

    describe('metrics and cleanup', () => {
      it('counts an open stream in the gauge and leaves no subscription once it is closed', async () => {
        const author = await registerAuthor(t, 'bearer');
        const store = t.app.get<RedisStore>(REDIS_STORE);
        const channels = [
          `notifications:${author.authorId}`,
          `follower:${author.authorId}`,
          `shout:${author.authorId}`,
        ];
        // Streams of earlier tests may still be closing on the server side.
        await waitFor(async () => (await metric(t, 'tessera_sse_open_streams')) === 0, {
          message: 'no stream open',
        });

        const stream = await connected(t, { bearer: author.token });
        expect(await metric(t, 'tessera_sse_open_streams')).toBe(1);
        await waitFor(() => channels.every((c) => store.subscribedChannels().includes(c)), {
          message: 'channels subscribed',
        });

        stream.close();
        await waitFor(async () => (await metric(t, 'tessera_sse_open_streams')) === 0, {
          message: 'gauge back to 0',
        });
        await waitFor(() => channels.every((c) => !store.subscribedChannels().includes(c)), {
          message: 'channels unsubscribed',
        });
        // Nothing listens any more: a publish reaches no subscriber connection of this app.
        expect(await store.publish(channels[0], '{"type":"late"}')).toBe(0);
      });

      it('counts delivered events', async () => {
        const author = await registerAuthor(t, 'bearer');
        const before = await metric(t, 'tessera_sse_events_delivered_total');
        const stream = await connected(t, { bearer: author.token });
        const row = await notify(t, author.authorId);
        await stream.untilMessage((m) => m.id === Number(row.id), 'notification');
        expect(await metric(t, 'tessera_sse_events_delivered_total')).toBe(before + 2);
      });
    });

    describe('revocation', () => {
      it('on sign-out, sends session_revoked and closes that session’s stream within a second; others stay', async () => {
        const author = await registerAuthor(t, 'bearer');
        const other = await login(t, author.email, author.password, 'bearer');
        const doomed = await connected(t, { bearer: author.token });
        const ticket = await ticketFor(t, author.token!);
        const byTicket = await openRawStream(streamUrl(t, { ticket }));
        await byTicket.untilMessage((m) => m.type === 'connected', 'ticket stream');
        const survivor = await connected(t, { bearer: other.token });

        const revokedAt = Date.now();
        await t
          .http()
          .post('/auth/logout')
          .set('Authorization', `Bearer ${author.token}`)
          .expect(204);

        for (const stream of [doomed, byTicket]) {
          await stream.untilEnded('stream closed after sign-out', 1_000);
          expect(stream.endedAt! - revokedAt).toBeLessThan(1_000);
          const last = stream.dataFrames.at(-1)!;
          expect(last.data).toBe('{"type":"session_revoked"}');
          expect(last.id).toBe('0');
          expect(last.at).toBeLessThanOrEqual(stream.endedAt!);
          expect(dataOf(stream.frames).map((m) => m.type)).toEqual([
            'connected',
            'session_revoked',
          ]);
        }

        // The other session's stream is still open and still delivers.
        expect(survivor.ended).toBe(false);
        const row = await notify(t, author.authorId);
        await survivor.untilMessage((m) => m.id === Number(row.id), 'notification after sign-out');
      });

      it('closes a stream whose session is revoked from another session', async () => {
        const author = await registerAuthor(t, 'bearer');
        const other = await login(t, author.email, author.password, 'bearer');
        const doomed = await connected(t, { bearer: author.token });
        const survivor = await connected(t, { bearer: other.token });

        const revokedAt = Date.now();
        await t
          .http()
          .delete('/auth/sessions')
          .set('Authorization', `Bearer ${other.token}`)
          .expect(204);

        await doomed.untilEnded('revoked stream closed', 1_000);
        expect(doomed.endedAt! - revokedAt).toBeLessThan(1_000);
        expect(doomed.dataFrames.at(-1)!.data).toBe('{"type":"session_revoked"}');
        expect(survivor.ended).toBe(false);
      });
    });
  });

  describe('with SSE_MAX_PER_USER=2 and tickets not bound to the client IP', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({
        TRUST_PROXY: 'true',
        SSE_MAX_PER_USER: '2',
        SSE_TICKET_BIND_IP: 'false',
      });
    });
    afterAll(() => t.close());

    it('answers a third stream of the same user with 429, and opens one again once a slot is free', async () => {
      const author = await registerAuthor(t, 'bearer');
      const second = await login(t, author.email, author.password, 'bearer');
      const one = await connected(t, { bearer: author.token });
      await connected(t, { bearer: second.token });

      // The cap is per user, whatever the session.
      await expectJsonError(await openRawStream(streamUrl(t), { bearer: author.token }), 429);
      await expectJsonError(await openRawStream(streamUrl(t), { bearer: second.token }), 429);
      // Another user is not affected.
      const stranger = await registerAuthor(t, 'bearer');
      await connected(t, { bearer: stranger.token });

      one.close();
      const reopened = await waitFor(
        async () => {
          const attempt = await openRawStream(streamUrl(t), { bearer: author.token });
          if (attempt.status === 200) return attempt;
          attempt.close();
          return null;
        },
        { message: 'a stream opens after one closed' },
      );
      await reopened!.untilMessage((m) => m.type === 'connected', 'connected');
    });

    it('frees the slot of a client that left before its stream opened', async () => {
      const author = await registerAuthor(t, 'bearer');
      const server = t.app.getHttpServer() as Server;
      const repository = t.app.get(NotificationRepository);
      const latestId = repository.latestId;
      // Holds the handler after it took a slot (reading the position), until the client is gone.
      let entered = 0;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      repository.latestId = async (userId) => {
        if (userId === author.authorId) {
          entered++;
          await held;
        }
        return latestId.call(repository, userId);
      };
      try {
        // As many clients as SSE_MAX_PER_USER give up while their stream is being set up.
        for (let i = 1; i <= t.config.sse.maxPerUser; i++) {
          const serverSide = new Promise<Socket>((resolve) => server.once('connection', resolve));
          const req = httpRequest(streamUrl(t), {
            agent: false,
            headers: { Authorization: `Bearer ${author.token}` },
          });
          req.on('error', () => undefined);
          req.end();
          const socket = await serverSide;
          await waitFor(() => entered === i, { message: 'slot taken' });
          req.destroy();
          await waitFor(() => socket.destroyed, { message: 'the server saw the client leave' });
        }
      } finally {
        release();
        repository.latestId = latestId;
      }

      // None of them has a stream, so the user may open one (the slots' own expiry is 35 s away).
      const stream = await waitFor(
        async () => {
          const attempt = await openRawStream(streamUrl(t), { bearer: author.token });
          if (attempt.status === 200) return attempt;
          attempt.close();
          return null;
        },
        { message: 'a stream opens', intervalMs: 100 },
      );
      expect(stream!.status).toBe(200);
    });

    it('does not let concurrent connections exceed the cap', async () => {
      const author = await registerAuthor(t, 'bearer');
      const attempts = 4;
      const store = t.app.get<RedisStore>(REDIS_STORE);
      const smembers = store.smembers;
      // Lines the attempts up where they count the user's streams, as parallel requests on a busy
      // server can be. An implementation that does not count this way is let through at once.
      let waiting = 0;
      let release!: () => void;
      const lineUp = new Promise<void>((resolve) => (release = resolve));
      store.smembers = async (key) => {
        if (key === `sse_user_streams:${author.authorId}` && ++waiting === attempts) release();
        if (key === `sse_user_streams:${author.authorId}`) await lineUp;
        return smembers.call(store, key);
      };
      try {
        const statuses = await Promise.all(
          Array.from({ length: attempts }, async () => {
            const stream = await openRawStream(streamUrl(t), { bearer: author.token });
            release();
            return stream.status;
          }),
        );
        // Never past the cap. Opens that race to the same moment may all be refused (each counts
        // the others); they are not kept out: a retry gets in.
        expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(2);
        expect(statuses.filter((status) => status !== 200).every((status) => status === 429)).toBe(
          true,
        );
      } finally {
        release();
        store.smembers = smembers;
      }
      await waitFor(
        async () => {
          const retry = await openRawStream(streamUrl(t), { bearer: author.token });
          return retry.status === 200;
        },
        { message: 'a retry after the race gets a stream' },
      );
    });

    it('accepts a ticket from another client IP when SSE_TICKET_BIND_IP=false', async () => {
      const author = await registerAuthor(t, 'bearer');
      const ticket = await ticketFor(t, author.token!, { 'X-Forwarded-For': '10.0.0.1' });
      const elsewhere = await openRawStream(streamUrl(t, { ticket }), {
        headers: { 'X-Forwarded-For': '10.0.0.2' },
      });
      expect(elsewhere.status).toBe(200);
      const hello = await elsewhere.untilMessage((m) => m.type === 'connected', 'connected');
      expect(hello.data).toBe(connectedData(author.authorId));
      // Still one use only.
      const again = await openRawStream(streamUrl(t, { ticket }), {
        headers: { 'X-Forwarded-For': '10.0.0.2' },
      });
      await expectJsonError(again, 401);
    });
  });

  describe('with SSE_TICKET_TTL_S=1 and SSE_MAX_LIFETIME_S=2', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({
        SSE_TICKET_TTL_S: '1',
        SSE_MAX_LIFETIME_S: '2',
        SSE_MAX_PER_USER: '100',
      });
    });
    afterAll(() => t.close());

    it('refuses a ticket that expired unused (401)', async () => {
      const author = await registerAuthor(t, 'bearer');
      // Redeeming spends a ticket, so each probe uses a fresh one of the same age: the first
      // refused is one never presented before, refused only because its second had passed.
      const issuedAt = Date.now();
      const tickets = await Promise.all(
        Array.from({ length: 20 }, () => ticketFor(t, author.token!)),
      );
      const results: number[] = [];
      await waitFor(
        async () => {
          const ticket = tickets.shift();
          if (ticket === undefined) throw new Error('out of tickets');
          const attempt = await openRawStream(streamUrl(t, { ticket }));
          attempt.close();
          results.push(attempt.status);
          return attempt.status === 401;
        },
        { message: 'an unused ticket refused', intervalMs: 150, timeoutMs: 2_500 },
      );
      expect(results.at(-1)).toBe(401);
      expect(Date.now() - issuedAt).toBeGreaterThanOrEqual(950);
      // Only expiry refused it: every earlier probe was accepted.
      expect(results.slice(0, -1).every((status) => status === 200)).toBe(true);
      expect(results.length).toBeGreaterThan(1);
    });

    it('sends reconnect and ends the stream after SSE_MAX_LIFETIME_S', async () => {
      const author = await registerAuthor(t, 'bearer');
      const stream = await connected(t, { bearer: author.token });
      await stream.untilEnded('end of the stream', 4_000);
      expect(stream.endedAt! - stream.openedAt).toBeGreaterThanOrEqual(1_800);
      const last = stream.dataFrames.at(-1)!;
      expect(last.data).toBe('{"type":"reconnect"}');
      expect(last.id).toBe('0');
      expect(dataOf(stream.frames).map((m) => m.type)).toEqual(['connected', 'reconnect']);
    });

    it('lets a real EventSource reconnect after the lifetime, resuming from its position', async () => {
      const author = await registerAuthor(t, 'bearer');
      const es = connectEventSource(streamUrl(t), { bearer: author.token });
      await es.untilMessage((m) => m?.type === 'connected', 'connected');
      await channelsReady(t, author.authorId);
      const row = await notify(t, author.authorId);
      await es.untilMessage((m) => m?.id === Number(row.id), 'first notification');
      await es.untilMessage((m) => m?.type === 'reconnect', 'reconnect', 4_000);
      // Stored while the client waits out `retry`: replayed thanks to the id it sends back.
      const missed = await notify(t, author.authorId);
      await es.untilMessage((m) => m?.id === Number(missed.id), 'replayed notification', 6_000);
      expect(es.opens).toBe(2);
      const reconnect = es.messages.find((m) => m.json?.type === 'reconnect')!;
      expect(reconnect.lastEventId).toBe(row.id);
      expect(es.messages.filter((m) => m.json?.id === Number(row.id))).toHaveLength(1);
    });
  });

  describe('at shutdown', () => {
    it('sends reconnect to every open stream before the app stops', async () => {
      const t = await startTestApp();
      try {
        const first = await registerAuthor(t, 'bearer');
        const second = await registerAuthor(t, 'cookie');
        const streams = [
          await connected(t, { bearer: first.token }),
          await connected(t, { bearer: first.token }),
          await connected(t, { cookie: second.cookie }),
        ];

        // The app's own shutdown, as on SIGTERM; t.close() below then removes its data.
        await t.app.close();

        for (const stream of streams) {
          await stream.untilEnded('stream ended at shutdown');
          const last = stream.dataFrames.at(-1)!;
          expect(last.data).toBe('{"type":"reconnect"}');
          expect(dataOf(stream.frames).map((m) => m.type)).toEqual(['connected', 'reconnect']);
        }
      } finally {
        await t.close();
      }
    });
  });
});

/** Escapes a string for use inside a RegExp. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
