import { closeAllStreams, openRawStream } from '../support/sse-client';
import { waitFor } from '../support/wait-for';
import { FaultStack, holdFault, registerAuthors } from './support/fault-stack';
import { reportRow } from './support/fault-report';
import { TcpProxy } from './support/tcp-proxy';
import type { TesseraProcess } from './support/tessera-process';

// Fault row 2 (docs/RELIABILITY.md, "Fault table"): a logout on instance A publishes
// `session:revoked` while instance B is cut off from Redis (a network partition), so B never gets
// the message. B's stream of that session still closes, with `session_revoked`, within the
// documented bound once B reaches Redis again, and at the latest SSE_SESSION_RECHECK_S later.

const RECHECK_S = 10;
const CUT_MS = 5_000;

describe('fault row 2: a revocation published while an instance is cut off from Redis', () => {
  let stack: FaultStack;
  let proxy: TcpProxy;
  let a: TesseraProcess;
  let b: TesseraProcess;

  beforeAll(async () => {
    stack = await FaultStack.start();
    proxy = await TcpProxy.to(stack.redis.port);
    const env = { SSE_SESSION_RECHECK_S: String(RECHECK_S) };
    a = await stack.startApp(env);
    b = await stack.startApp({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  });

  afterAll(async () => {
    closeAllStreams();
    await stack?.close();
    await proxy?.close();
  });

  it('closes the stream on the cut-off instance within the bound once it is back', async () => {
    const [author] = await registerAuthors(a, 1);
    const stream = await openRawStream(`${b.url}/sse/notifications`, { bearer: author.token });
    expect(stream.status).toBe(200);
    await stream.untilMessage((message) => message.type === 'connected', 'connected');

    const redis = stack.redis.client();
    try {
      // Both instances listen on `session:revoked`; cut off, B no longer does.
      const listeners = async () =>
        Number(((await redis.pubsub('NUMSUB', 'session:revoked')) as [string, number])[1]);
      expect(await listeners()).toBe(2);
      proxy.cutOff();
      await waitFor(async () => (await listeners()) === 1, { message: 'B off the channel' });

      const logout = await fetch(`${a.url}/auth/logout`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${author.token}` },
      });
      expect(logout.status).toBe(204);
      // The message went out with B still off the channel: B cannot have received it.
      expect(await listeners()).toBe(1);
      await holdFault(CUT_MS);
      expect(stream.ended).toBe(false);

      proxy.restore();
      const restoredAt = Date.now();
      await stream.untilMessage(
        (message) => message.type === 'session_revoked',
        'session_revoked on B',
        (RECHECK_S + 5) * 1000,
      );
      await stream.untilEnded();
      const closedAfterMs = Date.now() - restoredAt;
      reportRow('2 revocation while the instance is cut off from Redis', {
        cutOffMs: CUT_MS,
        closedAfterReconnectMs: closedAfterMs,
        boundS: RECHECK_S,
      });
      expect(closedAfterMs).toBeLessThanOrEqual(RECHECK_S * 1000);
      expect(b.running).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
