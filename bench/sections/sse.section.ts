import type { BenchUser } from '../support/bench-users';
import type { BenchContext } from '../support/context';
import { nowMs, percentiles } from '../support/latency';
import { eventLoopLagMs, untilSubscribed } from '../support/observe';
import {
  type Child,
  COLLECTABLE_NODE_ARGS,
  collectGarbage,
  freePort,
  startNode,
  waitForHttp,
} from '../support/processes';
import { type Row, skipped } from '../support/results';
import { SseLoad, type StreamSpec } from '../support/sse-load';

/** Connection attempts in flight while a storm of streams opens (every client at once, in effect). */
export const OPEN_IN_FLIGHT = 500;

interface Server {
  label: string;
  /** The process whose RSS is measured, started with COLLECTABLE_NODE_ARGS. */
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
  /**
   * The server's CPU time per stream opened (user + system), with Redis until every stream has
   * subscribed: a socket's subscription only starts after the `connection_ack` that opened it.
   */
  cpuMsPerOpen: number;
  lagP99Ms: number;
  single?: ReturnType<typeof percentiles>;
  broadcastLastMs?: number;
  broadcastP50Ms?: number;
}

/**
 * The id of the next bench notification. A WebSocket subscription only carries stored notifications
 * (the wire form with an id), so every transport gets one, with ids above any stored one, in order.
 */
let nextNotificationId = 2 ** 40;

/** A notification as Tessera publishes a stored one, its payload stamped with the time it is sent. */
function stampedNotification(sentAt: number): string {
  return JSON.stringify({
    id: nextNotificationId++,
    type: 'bench',
    action: 'bench',
    entity: 'bench',
    payload: { sent_at: sentAt },
    created_at: Math.floor(sentAt / 1000),
  });
}

/** Opens every stream, then (with a Redis to publish on) measures single and broadcast delivery. */
async function measure(context: BenchContext, load: SseLoad, server: Server): Promise<Measured> {
  const { redis, redisKeyPrefix } = context.services;
  await collectGarbage(server.child);
  const before = server.child.rss();
  await server.lagMs();
  const cpuBefore = server.child.cpuMs();
  const opened = await load.open(server.specs, OPEN_IN_FLIGHT);
  const channels = server.channels.map((channel) => redisKeyPrefix + channel);
  if (redis) await untilSubscribed(redis, channels);
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
    const samples = context.quick ? 100 : 500;
    const single: number[] = [];
    for (let i = 0; i < samples; i++) {
      const channel = channels[Math.floor(Math.random() * channels.length)];
      const collected = load.collect(1, 5_000);
      await redis.publish(channel, stampedNotification(nowMs()));
      single.push(...(await collected).latencies);
    }
    result.single = percentiles(single);
    const rounds: { last: number; p50: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const collected = load.collect(streams, 60_000);
      const sentAt = nowMs();
      const message = stampedNotification(sentAt);
      const batch = redis.pipeline();
      for (const channel of channels) batch.publish(channel, message);
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
  await collectGarbage(server.child);
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

function socketSpecs(url: string, users: BenchUser[]): StreamSpec[] {
  return users.map((user) => ({
    transport: 'ws',
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    token: user.token,
  }));
}

/**
 * Measures streams on a Tessera instance started for them (the main one's settings and services),
 * as the floor is: a process's RSS grows by less for a batch of streams when earlier work there left
 * memory that it reuses. On the main instance, the first batch after the authors' registration
 * measured 29–49 kB per stream and a batch after another anywhere from −74 to +83 kB; on instances
 * of their own, five runs measured 70–77 kB per stream and 44–53 kB per socket. With the embedded
 * database, which serves one process, on the main instance.
 */
async function measureOnTessera(
  context: BenchContext,
  load: SseLoad,
  label: string,
  specsOn: (url: string) => StreamSpec[],
  channels: string[],
): Promise<Measured> {
  const own = context.services.databaseUrl ? await context.newTessera() : undefined;
  const tessera = own ?? (await context.tessera());
  try {
    return await measure(context, load, {
      label,
      child: tessera.child,
      specs: specsOn(tessera.url),
      channels,
      lagMs: () => eventLoopLagMs(tessera.url, tessera.metricsToken),
    });
  } finally {
    await own?.child.stop();
  }
}

/**
 * SSE and WebSocket capacity and latency: N authenticated streams on Tessera (one per author,
 * cookie), the same N on a raw `node:http` SSE server fed by the same Redis channels (the runtime's
 * floor), then N GraphQL WebSockets on Tessera (the same authors, token in `connection_init`, one
 * `notifications` subscription each), measured the same way.
 */
export async function sseSection(context: BenchContext): Promise<Row[]> {
  const count = context.streams;
  const users = await context.users(count);
  const channels = users.map((user) => `notifications:${user.id}`);
  const load = SseLoad.start();
  const rows: Row[] = [];
  try {
    context.log(`opening ${count} streams on Tessera`);
    const ours = await measureOnTessera(
      context,
      load,
      'Tessera',
      (url) => sseStreams(url, users),
      channels,
    );
    let floor: Measured | undefined;
    if (context.services.redisUrl) {
      const port = await freePort();
      const child = startNode(
        'dist/bench/floor/sse-floor.server.js',
        [],
        {
          PATH: process.env.PATH,
          PORT: String(port),
          REDIS_URL: context.services.redisUrl,
          REDIS_KEY_PREFIX: context.services.redisKeyPrefix,
        },
        { nodeArgs: COLLECTABLE_NODE_ARGS },
      );
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitForHttp(`${url}/lag`, child);
        context.log(`opening ${count} streams on the floor server`);
        floor = await measure(context, load, {
          label: 'floor',
          child,
          specs: users.map((user) => ({ url: `${url}/sse?user=${user.id}`, headers: {} })),
          channels,
          lagMs: async () =>
            ((await (await fetch(`${url}/lag`)).json()) as { p99Ms: number }).p99Ms,
        });
      } finally {
        await child.stop();
      }
    }
    context.log(`opening ${count} sockets on Tessera`);
    const overWs = await measureOnTessera(
      context,
      load,
      'Tessera WebSocket',
      (url) => socketSpecs(url, users),
      channels,
    );
    const socketRow = socketCapacityRow(count, overWs, floor);
    if (!context.services.databaseUrl) {
      socketRow.note =
        'opened on the instance the streams just left (the embedded database serves one process): ' +
        'RSS per socket not comparable';
      context.log(`ws-capacity: ${socketRow.note}`);
    }
    rows.push(
      ...capacityRows(count, ours, floor),
      socketRow,
      ...latencyRows('sse-latency', ours, floor),
      ...floorLatencyRows(floor),
      ...latencyRows('ws-latency', overWs, floor),
    );
    return rows;
  } finally {
    load.stop();
  }
}

const capacityValues = (m: Measured) => ({
  streams: m.streams,
  failures: m.failures,
  rssPerStreamKb: m.rssPerStreamKb,
  openPerS: m.openPerS,
  openP99Ms: m.openP99Ms,
  cpuMsPerOpen: m.cpuMsPerOpen,
  eventLoopLagP99Ms: m.lagP99Ms,
});

/** RSS per stream against the floor's, and its target; none without the floor. */
function rssAgainstFloor(m: Measured, floor: Measured | undefined): Pick<Row, 'ratio' | 'target'> {
  return {
    ratio: floor && {
      value: m.rssPerStreamKb / floor.rssPerStreamKb,
      against: 'floor RSS per stream',
    },
    target: floor && {
      text: '≤ 2× the floor’s RSS per stream, no failures',
      met: m.rssPerStreamKb <= 2 * floor.rssPerStreamKb && m.failures === 0,
    },
  };
}

function capacityRows(count: number, ours: Measured, floor: Measured | undefined): Row[] {
  const section = 'sse-capacity';
  const stormSeconds = count / ours.openPerS;
  const rows: Row[] = [
    {
      section,
      name: `Tessera, ${count} cookie-authenticated streams`,
      values: capacityValues(ours),
      ...rssAgainstFloor(ours, floor),
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
      ? {
          section,
          name: `floor: raw node:http SSE, ${count} streams`,
          values: capacityValues(floor),
        }
      : skipped(
          section,
          'floor: raw node:http SSE',
          'needs REDIS_URL (it is fed by Redis channels)',
        ),
  );
  return rows;
}

/** The streams' first row for the sockets, with the same target (a socket opens at its ack). */
function socketCapacityRow(count: number, sockets: Measured, floor: Measured | undefined): Row {
  const { streams, failures, rssPerStreamKb, ...rest } = capacityValues(sockets);
  return {
    section: 'ws-capacity',
    name: `Tessera, ${count} token-authenticated sockets, one subscription each`,
    values: { sockets: streams, failures, rssPerSocketKb: rssPerStreamKb, ...rest },
    ...rssAgainstFloor(sockets, floor),
  };
}

/** Publish → receipt on Tessera's streams or sockets, against the floor's when it ran. */
function latencyRows(section: string, ours: Measured, floor: Measured | undefined): Row[] {
  if (!ours.single) {
    return [
      skipped(section, 'publish → receipt', 'needs REDIS_URL (the bench publishes on Redis)'),
    ];
  }
  return [
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
}

function floorLatencyRows(floor: Measured | undefined): Row[] {
  if (!floor?.single) return [];
  const section = 'sse-latency';
  return [
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
  ];
}
