import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { sessionKey } from '../../src/tokens/session-token.service';
import { registerAuthor, type SignedIn } from '../support/auth';
import { closeAllStreams, openRawStream, type RawStream } from '../support/sse-client';
import { metric } from '../support/metrics';
import { startTestApp, type TestApp } from '../support/test-app';

// Issue #15, the revocation safety net (docs/RELIABILITY.md, "Guarantees"): a stream whose
// session is gone closes within SSE_SESSION_RECHECK_S even when no `session:revoked` message ever
// arrives, as when it was published while this instance's subscriber was down.

const RECHECK_S = 1;

async function openStream(t: TestApp, author: SignedIn): Promise<RawStream> {
  const stream = await openRawStream(new URL('/sse/notifications', t.baseUrl), {
    bearer: author.token,
  });
  expect(stream.status).toBe(200);
  await stream.untilMessage((message) => message.type === 'connected', 'connected');
  return stream;
}

describe('the periodic session re-check of open streams', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SSE_SESSION_RECHECK_S: String(RECHECK_S), SSE_HEARTBEAT_S: '1' });
  });

  afterAll(async () => {
    closeAllStreams();
    await t?.close();
  });

  it('closes the stream of a session removed without a revocation message, and only that one', async () => {
    const [gone, kept] = [await registerAuthor(t), await registerAuthor(t)];
    const goneStream = await openStream(t, gone);
    const keptStream = await openStream(t, kept);
    const closedBefore = await metric(t, 'tessera_sse_closed_by_session_recheck_total');

    // Deleted behind the service's back: nothing is published on `session:revoked`.
    const store = t.app.get<RedisStore>(REDIS_STORE);
    const jti = (gone.body.session as { id: string }).id;
    expect(await store.del(sessionKey(gone.authorId, jti))).toBe(1);

    // Within two re-check periods, with a margin for a loaded machine.
    await goneStream.untilMessage(
      (message) => message.type === 'session_revoked',
      'session_revoked from the re-check',
      RECHECK_S * 2_000 + 3_000,
    );
    await goneStream.untilEnded();
    expect(await metric(t, 'tessera_sse_closed_by_session_recheck_total')).toBe(closedBefore + 1);

    // The other stream lives through more re-checks: three more heartbeats, a second apart.
    const pings = () => keptStream.frames.filter((f) => f.comments.includes('ping')).length;
    const pingsNow = pings();
    await keptStream.until(() => pings() >= pingsNow + 3, 'three more heartbeats');
    expect(keptStream.ended).toBe(false);
    expect(keptStream.messages.some((message) => message.type === 'session_revoked')).toBe(false);
  });
});
