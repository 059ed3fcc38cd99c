import type { BenchUser } from '../support/bench-users';
import type { BenchContext } from '../support/context';
import { nowMs, percentiles } from '../support/latency';
import { eventLoopLagMs, untilSubscribed } from '../support/observe';
import { type Child, freePort, startNode, waitForHttp } from '../support/processes';
import { type Row, skipped } from '../support/results';
import { SseLoad, type StreamSpec } from '../support/sse-load';

/** Connection attempts in flight while a storm of streams opens (every client at once, in effect). */
export const OPEN_IN_FLIGHT = 500;

interface Server {
  label: string;
  /** The process whose RSS is measured. */
  child: Child;
  specs: StreamSpec[];
  /** The channel each stream listens on, in the order of `specs`. */
  channels: string[];
  lagMs: () => Promise<number>;
}

interface Measured {
  streams: number;
  failures: number;
  rssPerStreamKb: number;
  openPerS: number;
  openP99Ms: number;
  /** The server's CPU time per stream opened (user + system). */
  cpuMsPerOpen: number;
  lagP99Ms: number;
  single?: ReturnType<typeof percentiles>;
  broadcastLastMs?: number;
  broadcastP50Ms?: number;
}

/** Opens every stream, then (with a Redis to publish on) measures single and broadcast delivery. */
async function measure(context: BenchContext, load: SseLoad, server: Server): Promise<Measured> {
  const { redis, redisKeyPrefix } = context.services;
  const before = server.child.rss();
  await server.lagMs();
  const cpuBefore = server.child.cpuMs();
  const opened = await load.open(server.specs, OPEN_IN_FLIGHT);
  const cpuMs = server.child.cpuMs() - cpuBefore;
  if (opened.failures.length > 0) {
    context.log(
      `${server.label}: ${opened.failures.length} streams failed, first: ${opened.failures[0]}`,
    );
  }
  const streams = opened.openMs.length;
  const result: Measured = {
    streams,
    failures: opened.failures.length,
    rssPerStreamKb: 0,
    openPerS: streams / (opened.elapsedMs / 1000),
    openP99Ms: percentiles(opened.openMs).p99,
    cpuMsPerOpen: cpuMs / streams,
    lagP99Ms: 0,
  };
  if (redis) {
    await untilSubscribed(
      redis,
      server.channels.map((channel) => redisKeyPrefix + channel),
    );
    const samples = context.quick ? 100 : 500;
    const single: number[] = [];
    for (let i = 0; i < samples; i++) {
      const channel = server.channels[Math.floor(Math.random() * server.channels.length)];
      const collected = load.collect(1, 5_000);
      await redis.publish(
        redisKeyPrefix + channel,
        JSON.stringify({ type: 'bench', sent_at: nowMs() }),
      );
      single.push(...(await collected).latencies);
    }
    result.single = percentiles(single);
    const rounds: { last: number; p50: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const collected = load.collect(streams, 60_000);
      const sentAt = nowMs();
      const message = JSON.stringify({ type: 'bench', sent_at: sentAt });
      const batch = redis.pipeline();
      for (const channel of server.channels) batch.publish(redisKeyPrefix + channel, message);
      await batch.exec();
      const got = await collected;
      if (got.timedOut) context.log(`${server.label}: broadcast round ${round} incomplete`);
      rounds.push({ last: got.lastAt - sentAt, p50: percentiles(got.latencies).p50 });
    }
    rounds.sort((a, b) => a.last - b.last);
    result.broadcastLastMs = rounds[1].last;
    result.broadcastP50Ms = rounds[1].p50;
  }
  result.lagP99Ms = await server.lagMs();
  result.rssPerStreamKb = (server.child.rss() - before) / 1024 / streams;
  await load.closeAll();
  return result;
}

function sseStreams(url: string, users: BenchUser[]): StreamSpec[] {
  return users.map((user) => ({
    url: `${url}/sse/notifications`,
    headers: { cookie: `session_token=${user.token}`, accept: 'text/event-stream' },
  }));
}

/**
 * SSE capacity and latency: N authenticated streams on Tessera (one per author, cookie), then the
 * same N on a raw `node:http` SSE server fed by the same Redis channels (the runtime's floor).
 */
export async function sseSection(context: BenchContext): Promise<Row[]> {
  const count = context.streams;
  const tessera = await context.tessera();
  const users = await context.users(count);
  const load = SseLoad.start();
  const rows: Row[] = [];
  try {
    context.log(`opening ${count} streams on Tessera`);
    const ours = await measure(context, load, {
      label: 'Tessera',
      child: tessera.child,
      specs: sseStreams(tessera.url, users),
      channels: users.map((user) => `notifications:${user.id}`),
      lagMs: () => eventLoopLagMs(tessera.url, tessera.metricsToken),
    });
    let floor: Measured | undefined;
    if (context.services.redisUrl) {
      const port = await freePort();
      const child = startNode('dist/bench/floor/sse-floor.server.js', [], {
        PATH: process.env.PATH,
        PORT: String(port),
        REDIS_URL: context.services.redisUrl,
        REDIS_KEY_PREFIX: context.services.redisKeyPrefix,
      });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitForHttp(`${url}/lag`, child);
        context.log(`opening ${count} streams on the floor server`);
        floor = await measure(context, load, {
          label: 'floor',
          child,
          specs: users.map((user) => ({ url: `${url}/sse?user=${user.id}`, headers: {} })),
          channels: users.map((user) => `notifications:${user.id}`),
          lagMs: async () =>
            ((await (await fetch(`${url}/lag`)).json()) as { p99Ms: number }).p99Ms,
        });
      } finally {
        await child.stop();
      }
    }
    rows.push(...capacityRows(count, ours, floor), ...latencyRows(ours, floor));
    return rows;
  } finally {
    load.stop();
  }
}

function capacityRows(count: number, ours: Measured, floor: Measured | undefined): Row[] {
  const section = 'sse-capacity';
  const values = (m: Measured) => ({
    streams: m.streams,
    failures: m.failures,
    rssPerStreamKb: m.rssPerStreamKb,
    openPerS: m.openPerS,
    openP99Ms: m.openP99Ms,
    cpuMsPerOpen: m.cpuMsPerOpen,
    eventLoopLagP99Ms: m.lagP99Ms,
  });
  const stormSeconds = count / ours.openPerS;
  const rows: Row[] = [
    {
      section,
      name: `Tessera, ${count} cookie-authenticated streams`,
      values: values(ours),
      ratio: floor && {
        value: ours.rssPerStreamKb / floor.rssPerStreamKb,
        against: 'floor RSS per stream',
      },
      target: floor && {
        text: '≤ 2× the floor’s RSS per stream, no failures',
        met: ours.rssPerStreamKb <= 2 * floor.rssPerStreamKb && ours.failures === 0,
      },
    },
    {
      section,
      name: `Tessera, all ${count} opening at once (${OPEN_IN_FLIGHT} in flight)`,
      values: { seconds: stormSeconds, openPerS: ours.openPerS },
      ratio: floor && { value: ours.openPerS / floor.openPerS, against: 'floor open rate' },
      target: {
        text: `10,000 reconnect within 10 s (≥ 1,000/s)`,
        met: ours.openPerS >= 1000 && ours.failures === 0,
      },
    },
  ];
  rows.push(
    floor
      ? { section, name: `floor: raw node:http SSE, ${count} streams`, values: values(floor) }
      : skipped(
          section,
          'floor: raw node:http SSE',
          'needs REDIS_URL (it is fed by Redis channels)',
        ),
  );
  return rows;
}

function latencyRows(ours: Measured, floor: Measured | undefined): Row[] {
  const section = 'sse-latency';
  if (!ours.single) {
    return [
      skipped(section, 'publish → receipt', 'needs REDIS_URL (the bench publishes on Redis)'),
    ];
  }
  const rows: Row[] = [
    {
      section,
      name: 'Tessera, one user: publish → receipt',
      values: { p50Ms: ours.single.p50, p99Ms: ours.single.p99, samples: ours.single.count },
      ratio: floor?.single && { value: ours.single.p99 / floor.single.p99, against: 'floor p99' },
      target: { text: 'p99 ≤ 5 ms', met: ours.single.p99 <= 5 },
    },
    {
      section,
      name: `Tessera, broadcast to all ${ours.streams}: last receipt`,
      values: { lastMs: ours.broadcastLastMs!, p50Ms: ours.broadcastP50Ms! },
      ratio: floor && { value: ours.broadcastLastMs! / floor.broadcastLastMs!, against: 'floor' },
      target: floor && {
        text: 'within 1.5× the floor',
        met: ours.broadcastLastMs! <= 1.5 * floor.broadcastLastMs!,
      },
    },
  ];
  if (floor?.single) {
    rows.push(
      {
        section,
        name: 'floor, one user: publish → receipt',
        values: { p50Ms: floor.single.p50, p99Ms: floor.single.p99, samples: floor.single.count },
      },
      {
        section,
        name: `floor, broadcast to all ${floor.streams}: last receipt`,
        values: { lastMs: floor.broadcastLastMs!, p50Ms: floor.broadcastP50Ms! },
      },
    );
  }
  return rows;
}
