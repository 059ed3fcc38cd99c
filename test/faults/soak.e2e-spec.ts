import {
  fetchProfile,
  holdFault,
  openStreams,
  registerAuthors,
  RequestFlow,
  useFaultStack,
} from './support/fault-stack';
import { reportRow } from './support/fault-report';

// Fault row 5 (docs/RELIABILITY.md, "Fault table"): a 60-second soak, 2,000 open streams and 200
// authenticated requests a second, after a 20-second warm-up under the same load. No 5xx at all,
// and memory flat: RSS is sampled every second and its slope reported, but a collected heap makes
// RSS a sawtooth (it climbs with garbage until a full collection), so what is held to a limit is
// the heap left after each full collection (`--trace-gc`), which a leak would raise.

const AUTHORS = 20;
const STREAMS_PER_AUTHOR = 100;
const WARM_UP_MS = 20_000;
const SOAK_MS = 60_000;
const REQUESTS_PER_S = 200;
/** Retained heap growth allowed over the soak; a leak of one object per request would pass it. */
const MAX_RETAINED_GROWTH_MB = 15;

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  const covariance = points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0);
  const variance = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
  return covariance / variance;
}

describe('fault row 5: a 60-second soak with 2,000 streams and 200 requests/s', () => {
  const row = useFaultStack({}, ['--trace-gc']);

  it('answers no 5xx and keeps its memory flat', async () => {
    const { app } = row;
    const authors = await registerAuthors(app, AUTHORS);
    const streams = await openStreams(app, authors, STREAMS_PER_AUTHOR);
    expect(streams).toHaveLength(2_000);

    const flow = new RequestFlow(
      authors.map((author) => ({
        name: 'profile',
        send: () => fetchProfile(app, author),
      })),
      1_000 / REQUESTS_PER_S,
    );
    await holdFault(WARM_UP_MS);
    const answeredBefore = [...flow.outcomes.values()].reduce((sum, count) => sum + count, 0);
    const gcsBefore = app.majorGcs();
    const startedAt = Date.now();
    const rss: { x: number; y: number }[] = [];
    const sampler = setInterval(() => {
      rss.push({ x: (Date.now() - startedAt) / 60_000, y: app.rssBytes() / 2 ** 20 });
    }, 1_000);
    try {
      await holdFault(SOAK_MS);
    } finally {
      clearInterval(sampler);
    }
    await flow.stop();

    // The last full collection of the warm-up, and those of the soak.
    const gcs = app.majorGcs().slice(Math.max(0, gcsBefore.length - 1));
    const retained = gcs.map((gc) => gc.heapAfterMb);
    const retainedGrowthMb = retained[retained.length - 1] - retained[0];
    const answered = [...flow.outcomes.values()].reduce((sum, count) => sum + count, 0);
    const openAtEnd = streams.filter(({ stream }) => !stream.ended).length;
    reportRow('5 soak 60 s, 2,000 streams + 200 req/s', {
      requests: answered,
      requestsPerSDuringSoak: Math.round((answered - answeredBefore) / (SOAK_MS / 1000)),
      statuses: flow.summary(),
      streamsOpenAtEnd: openAtEnd,
      rssMinMb: Math.round(Math.min(...rss.map((p) => p.y))),
      rssMaxMb: Math.round(Math.max(...rss.map((p) => p.y))),
      rssSlopeMbPerMin: slope(rss).toFixed(1),
      fullGcs: gcs.length - 1,
      retainedHeapMb: retained.map((mb) => mb.toFixed(1)).join('→'),
      retainedGrowthMb: retainedGrowthMb.toFixed(1),
    });
    expect(flow.serverErrors() + flow.total(503)).toBe(0);
    expect(flow.total(0)).toBe(0);
    expect(flow.total(200)).toBe(answered);
    expect(openAtEnd).toBe(2_000);
    expect(gcs.length).toBeGreaterThanOrEqual(2);
    expect(retainedGrowthMb).toBeLessThan(MAX_RETAINED_GROWTH_MB);
  });
});
