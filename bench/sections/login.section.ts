import { type BenchUser, inParallel, registerUser } from '../support/bench-users';
import type { BenchContext } from '../support/context';
import { nowMs, percentiles } from '../support/latency';
import { untilSubscribed } from '../support/observe';
import { firstLine, startNode } from '../support/processes';
import type { Row } from '../support/results';
import { SseLoad } from '../support/sse-load';
import { startTessera, type TesseraServer } from '../support/tessera';
import { hammer } from './http.section';

const SECTION = 'login';
const COST = 10;
const STREAMS = 20;

/** /auth/profile at a steady 100 req/s and SSE deliveries every 20 ms: the others' p99s. */
async function othersP99(
  context: BenchContext,
  tessera: TesseraServer,
  users: BenchUser[],
  load: SseLoad,
): Promise<{ profileP99Ms: number; sseP99Ms?: number }> {
  const seconds = context.seconds;
  const profile = hammer(`${tessera.url}/auth/profile`, seconds, {
    connections: 10,
    overallRate: 100,
    headers: { cookie: `session_token=${users[0].token}` },
  });
  let sseP99Ms: number | undefined;
  const { redis, redisKeyPrefix } = context.services;
  if (redis) {
    const latencies: number[] = [];
    const until = Date.now() + seconds * 1000 * 1.25;
    while (Date.now() < until) {
      const user = users[Math.floor(Math.random() * users.length)];
      const collected = load.collect(1, 5_000);
      await redis.publish(
        `${redisKeyPrefix}notifications:${user.id}`,
        JSON.stringify({ type: 'bench', sent_at: nowMs() }),
      );
      latencies.push(...(await collected).latencies);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    sseP99Ms = percentiles(latencies).p99;
  }
  return { profileP99Ms: (await profile).p99Ms, sseP99Ms };
}

/**
 * Logins per second against bare bcrypt compares per second at the same cost (10), and what a
 * steady 10 logins/s does to everyone else's p99. Runs on an instance of its own with
 * BCRYPT_ROUNDS=10 (the main one hashes at 4 to register thousands of bench authors).
 */
export async function loginSection(context: BenchContext): Promise<Row[]> {
  const seconds = context.seconds;
  const bare = startNode(
    'dist/bench/load/bcrypt-compares.js',
    [String(COST), String(seconds)],
    {
      PATH: process.env.PATH,
    },
    { stdout: 'pipe' },
  );
  const { comparesPerS } = JSON.parse(await firstLine(bare, 120_000)) as { comparesPerS: number };
  await bare.stop();

  const tessera = await startTessera(context.services, { BCRYPT_ROUNDS: String(COST) }, [], {
    ownDataDir: true,
  });
  const load = SseLoad.start();
  try {
    const users = await inParallel(STREAMS, 4, () => registerUser(tessera.url));
    const loginBody = (user: BenchUser) =>
      JSON.stringify({ email: user.email, password: user.password, mode: 'bearer' });
    const logins = await hammer(`${tessera.url}/auth/login`, seconds, {
      connections: 8,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: loginBody(users[0]),
    });
    const opened = await load.open(
      users.map((user) => ({
        url: `${tessera.url}/sse/notifications`,
        headers: { cookie: `session_token=${user.token}` },
      })),
      STREAMS,
    );
    if (opened.failures.length) throw new Error(`streams refused: ${opened.failures[0]}`);
    if (context.services.redis) {
      await untilSubscribed(
        context.services.redis,
        users.map((user) => `${context.services.redisKeyPrefix}notifications:${user.id}`),
      );
    }
    const idle = await othersP99(context, tessera, users, load);
    const [loaded, background] = await Promise.all([
      othersP99(context, tessera, users, load),
      hammer(`${tessera.url}/auth/login`, seconds * 1.5, {
        connections: 2,
        overallRate: 10,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: loginBody(users[1]),
      }),
    ]);
    await load.closeAll();
    const rows: Row[] = [
      {
        section: SECTION,
        name: `bare bcrypt compares, cost ${COST}, thread pool (floor)`,
        values: { comparesPerS },
      },
      {
        section: SECTION,
        name: `POST /auth/login, cost ${COST}, 8 connections`,
        values: {
          loginsPerS: logins.reqPerS,
          p50Ms: logins.p50Ms,
          p99Ms: logins.p99Ms,
          errors: logins.errors,
        },
        ratio: { value: logins.reqPerS / comparesPerS, against: 'bare bcrypt' },
        target: { text: '≥ 0.9× bare bcrypt', met: logins.reqPerS >= 0.9 * comparesPerS },
      },
      {
        section: SECTION,
        name: 'GET /auth/profile p99 at 100 req/s, idle → with 10 logins/s',
        values: {
          idleP99Ms: idle.profileP99Ms,
          loadedP99Ms: loaded.profileP99Ms,
          loginsPerS: background.reqPerS,
        },
        ratio: { value: loaded.profileP99Ms / idle.profileP99Ms, against: 'idle p99' },
        target: { text: '≤ 2× idle p99', met: loaded.profileP99Ms <= 2 * idle.profileP99Ms },
      },
    ];
    if (idle.sseP99Ms !== undefined && loaded.sseP99Ms !== undefined) {
      rows.push({
        section: SECTION,
        name: 'SSE publish → receipt p99, idle → with 10 logins/s',
        values: { idleP99Ms: idle.sseP99Ms, loadedP99Ms: loaded.sseP99Ms },
        ratio: { value: loaded.sseP99Ms / idle.sseP99Ms, against: 'idle p99' },
        target: { text: '≤ 2× idle p99', met: loaded.sseP99Ms <= 2 * idle.sseP99Ms },
      });
    }
    return rows;
  } finally {
    load.stop();
    await tessera.child.stop();
  }
}
