import { waitFor } from '../support/wait-for';
import { closeAllSockets, subscribeNotifications } from '../support/ws-client';
import {
  deliveredIds,
  type FaultAuthor,
  fetchProfile,
  follow,
  holdFault,
  openStreams,
  registerAuthors,
  RequestFlow,
  untilRecovered,
  useFaultStack,
} from './support/fault-stack';
import { reportRow } from './support/fault-report';

// Fault row 1 (docs/RELIABILITY.md, "Fault table"): Redis stops for 5 s while 200 streams and 20
// WebSocket subscriptions are open and requests flow. Requests that need Redis answer 503 fast, the
// rest keep working, nothing answers 500 or crashes; once Redis is back the app recovers without a
// restart, and every stream and socket receives every notification stored during the outage: zero
// lost, zero duplicated.

const AUTHORS = 20;
const STREAMS_PER_AUTHOR = 10;
const OUTAGE_MS = 5_000;
const STORED_DURING_OUTAGE = 3;

describe('fault row 1: Redis stopped for 5 s under 200 streams, 20 sockets and a flow of requests', () => {
  const row = useFaultStack();
  afterEach(closeAllSockets);

  /** Notifications written while Redis is down, as an instance's fan-out would store them. */
  async function storeWhileDown(author: FaultAuthor, n: number): Promise<number> {
    const [stored] = await row.stack.postgres.query<{ id: string }>(
      `INSERT INTO notification (recipient_id, type, action, entity, payload, created_at)
       VALUES ($1, 'notifications', 'create', 'fault', $2, extract(epoch from now())::bigint)
       RETURNING id`,
      [author.id, JSON.stringify({ during: 'redis outage', n })],
    );
    return Number(stored.id);
  }

  it('answers 503 (never 500) while Redis is down, recovers by itself, and loses or repeats no notification', async () => {
    const { stack, app } = row;
    const authors = await registerAuthors(app, AUTHORS);
    const streams = await openStreams(app, authors, STREAMS_PER_AUTHOR);
    // From the start (`after: 0`), so that every notification of the author is expected, however
    // the subscription's SUBSCRIBE and the first follow interleave.
    const sockets = authors.map((author) => ({
      author,
      subscription: subscribeNotifications(app.url, {
        params: { token: author.token },
        after: '0',
      }),
    }));
    await Promise.all(sockets.map(({ subscription }) => subscription.untilAcknowledged()));
    const expected = new Map<number, number[]>(authors.map((author) => [author.id, []]));

    // Before: each author is followed once, and each of their streams receives it live.
    const notifiedBy = async (round: number) => {
      await Promise.all(
        authors.map((author, i) => follow(app, authors[(i + round) % AUTHORS], author)),
      );
    };
    await notifiedBy(1);

    const reader = authors[0];
    const flow = new RequestFlow(
      [
        {
          name: 'profile',
          send: () => fetchProfile(app, reader),
        },
        { name: 'jwks', send: () => fetch(`${app.url}/.well-known/jwks.json`) },
        { name: 'health', send: () => fetch(`${app.url}/health`) },
        {
          name: 'login',
          send: () =>
            fetch(`${app.url}/auth/login`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({
                email: reader.email,
                password: reader.password,
                mode: 'bearer',
              }),
            }),
        },
      ],
      20,
    );

    await stack.redis.stop();
    const stoppedAt = Date.now();
    // Fast: a request that needs Redis is refused at once, not after reconnection attempts.
    const probeStart = Date.now();
    const probe = await fetchProfile(app, reader);
    const refusalMs = Date.now() - probeStart;
    expect(probe.status).toBe(503);
    expect(probe.headers.get('retry-after')).toBe('1');
    expect(await probe.json()).toMatchObject({
      message: 'Redis is unavailable; try again shortly',
    });
    const health = await fetch(`${app.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'error', db: 'up', redis: 'down' });

    for (const author of authors) {
      for (let n = 1; n <= STORED_DURING_OUTAGE; n++) {
        expected.get(author.id)!.push(await storeWhileDown(author, n));
      }
    }
    await holdFault(OUTAGE_MS - (Date.now() - stoppedAt));
    await stack.redis.resume();
    const resumedAt = Date.now();

    const recoveryMs = await untilRecovered(app, reader, resumedAt);
    await flow.stop();

    // After: one more live notification each.
    await notifiedBy(2);

    // Every notification stored for the author, in order: the stream's expected sequence. The
    // follow's notification is stored after the request returned (the fan-out runs after it).
    const stored = new Map<number, number[]>();
    await waitFor(
      async () => {
        const rows = await stack.postgres.query<{ id: string; recipient_id: number }>(
          'SELECT id, recipient_id FROM notification ORDER BY id',
        );
        stored.clear();
        for (const { id, recipient_id: recipient } of rows) {
          stored.set(recipient, [...(stored.get(recipient) ?? []), Number(id)]);
        }
        return rows.length === AUTHORS * (2 + STORED_DURING_OUTAGE);
      },
      { timeoutMs: 15_000, intervalMs: 100, message: 'the last round of notifications stored' },
    );
    for (const [authorId, during] of expected) {
      expect(stored.get(authorId)).toHaveLength(2 + STORED_DURING_OUTAGE);
      expect(stored.get(authorId)).toEqual(expect.arrayContaining(during));
    }

    await Promise.all(
      streams.map(({ author, stream }) =>
        stream.until(
          () => deliveredIds(stream).length >= stored.get(author.id)!.length,
          'every stored notification',
          20_000,
        ),
      ),
    );
    await Promise.all(
      sockets.map(({ author, subscription }) =>
        subscription.untilNotifications(stored.get(author.id)!.length, 20_000),
      ),
    );
    let lost = 0;
    let duplicated = 0;
    let reconnected = 0;
    const tally = (ids: number[], want: number[], closed: boolean) => {
      lost += want.filter((id) => !ids.includes(id)).length;
      duplicated += ids.length - new Set(ids).size;
      if (closed) reconnected++;
      expect(ids).toEqual(want);
    };
    for (const { author, stream } of streams) {
      tally(deliveredIds(stream), stored.get(author.id)!, stream.ended);
    }
    for (const { author, subscription } of sockets) {
      const ids = subscription.notifications.map((notification) => Number(notification.id));
      tally(ids, stored.get(author.id)!, subscription.closedWith !== undefined);
    }

    const summary = flow.summary();
    reportRow('1 Redis stopped 5 s, 200 streams + 20 sockets + requests', {
      streams: streams.length,
      sockets: sockets.length,
      storedDuringOutage: AUTHORS * STORED_DURING_OUTAGE,
      lost,
      duplicated,
      streamsOrSocketsClosed: reconnected,
      firstRefusalMs: refusalMs,
      slowest503Ms: flow.slowest(503),
      recoveryMs,
      statuses: summary,
    });
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(reconnected).toBe(0);
    expect(flow.total(503)).toBeGreaterThan(0);
    expect(flow.serverErrors()).toBe(0);
    expect(flow.total(0)).toBe(0);
    // JWKS needs no Redis: it never failed.
    expect(flow.total(200, 'jwks')).toBeGreaterThan(0);
    expect(
      Object.keys(summary).filter((key) => key.startsWith('jwks') && key !== 'jwks 200'),
    ).toEqual([]);
    expect(app.running).toBe(true);
  });
});
