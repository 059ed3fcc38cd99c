import { openStreams, registerAuthors, useFaultStack } from './support/fault-stack';
import { reportRow } from './support/fault-report';

// Fault row 4 (docs/RELIABILITY.md, "Fault table"): SIGTERM with 1,000 open streams. Every stream
// is told `reconnect` and ends, and the process exits 0 within 10 s.

const AUTHORS = 10;
const STREAMS_PER_AUTHOR = 100;
const EXIT_DEADLINE_MS = 10_000;

describe('fault row 4: SIGTERM with 1,000 open streams', () => {
  const row = useFaultStack();

  it('tells every stream to reconnect and exits 0 within 10 s', async () => {
    const { app } = row;
    const authors = await registerAuthors(app, AUTHORS);
    const streams = await openStreams(app, authors, STREAMS_PER_AUTHOR);
    expect(streams).toHaveLength(1_000);

    const signalledAt = Date.now();
    app.kill('SIGTERM');
    const code = await Promise.race([
      app.exited,
      new Promise<'timeout'>((resolve) =>
        setTimeout(() => resolve('timeout'), EXIT_DEADLINE_MS).unref(),
      ),
    ]);
    const exitMs = Date.now() - signalledAt;

    const toldToReconnect = streams.filter(({ stream }) =>
      stream.messages.some((message) => message.type === 'reconnect'),
    ).length;
    await Promise.all(streams.map(({ stream }) => stream.untilEnded()));
    reportRow('4 SIGTERM with 1,000 streams', {
      streams: streams.length,
      toldToReconnect,
      exitCode: code,
      exitMs,
    });
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(EXIT_DEADLINE_MS);
    expect(toldToReconnect).toBe(1_000);
  });
});
