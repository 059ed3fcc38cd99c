import autocannon from 'autocannon';
import type { BenchContext } from '../support/context';
import { type Child, firstLine, freePort, startNode, waitForHttp } from '../support/processes';
import type { Row } from '../support/results';
import { skipped } from '../support/results';

const SECTION = 'http';
const CONNECTIONS = 50;

export interface Load {
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The server's CPU time per request (user + system), when its process was given. */
  cpuUsPerReq?: number;
}

/** autocannon at `connections` for `seconds` after a warm-up of a quarter of that; non-2xx count as errors. */
export async function hammer(
  url: string,
  seconds: number,
  options: Partial<autocannon.Options> = {},
  server?: Child,
): Promise<Load> {
  const base = { url, connections: CONNECTIONS, ...options };
  await autocannon({ ...base, duration: Math.max(1, seconds / 4) });
  const cpuBefore = server?.cpuMs();
  const result = await autocannon({ ...base, duration: seconds });
  const load: Load = {
    reqPerS: result.requests.total / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
  };
  if (server && cpuBefore !== undefined) {
    load.cpuUsPerReq = ((server.cpuMs() - cpuBefore) * 1000) / result.requests.total;
  }
  return load;
}

function row(name: string, load: Load, floor?: number, target?: number): Row {
  const ratio = floor ? load.reqPerS / floor : undefined;
  return {
    section: SECTION,
    name,
    values: { ...load },
    ratio: ratio === undefined ? undefined : { value: ratio, against: 'the bare Nest floor' },
    target:
      target === undefined || ratio === undefined
        ? undefined
        : { text: `≥ ${target}× the floor, no errors`, met: ratio >= target && load.errors === 0 },
  };
}

/**
 * HTTP throughput at 50 connections: the bare Nest app (the framework's floor, measured before and
 * after Tessera, their mean is the baseline), then Tessera's anonymous, authenticated and health
 * routes, then the same authenticated read served by better-auth.
 */
export async function httpSection(context: BenchContext): Promise<Row[]> {
  const { seconds, services } = context;
  const floorPort = await freePort();
  const floor = startNode('dist/bench/floor/nest-floor.server.js', [], {
    PATH: process.env.PATH,
    PORT: String(floorPort),
  });
  const tessera = await context.tessera();
  const user = await context.newUser();
  const cookie = { cookie: `session_token=${user.token}` };
  const rows: Row[] = [];
  try {
    const floorUrl = `http://127.0.0.1:${floorPort}/`;
    await waitForHttp(floorUrl, floor);
    const server = tessera.child;
    const before = await hammer(floorUrl, seconds, {}, floor);
    const jwks = await hammer(`${tessera.url}/.well-known/jwks.json`, seconds, {}, server);
    const profile = await hammer(
      `${tessera.url}/auth/profile`,
      seconds,
      { headers: cookie },
      server,
    );
    const me = await hammer(
      `${tessera.url}/graphql`,
      seconds,
      {
        method: 'POST',
        headers: { ...cookie, 'content-type': 'application/json', origin: tessera.url },
        body: JSON.stringify({ query: '{ me { id slug name } }' }),
      },
      server,
    );
    const health = await hammer(`${tessera.url}/health`, seconds, {}, server);
    const after = await hammer(floorUrl, seconds, {}, floor);
    const floorRate = (before.reqPerS + after.reqPerS) / 2;
    rows.push(
      {
        section: SECTION,
        name: 'bare Nest 12 Express, one JSON route (floor)',
        values: {
          reqPerS: floorRate,
          beforeReqPerS: before.reqPerS,
          afterReqPerS: after.reqPerS,
          p50Ms: after.p50Ms,
          p99Ms: after.p99Ms,
          cpuUsPerReq: (before.cpuUsPerReq! + after.cpuUsPerReq!) / 2,
        },
      },
      row('GET /.well-known/jwks.json (anonymous)', jwks, floorRate, 0.8),
      row('GET /auth/profile (cookie)', profile, floorRate, 0.5),
      row('GraphQL { me } (cookie)', me, floorRate, 0.5),
      row('GET /health', health, floorRate),
    );

    if (!services.databaseUrl || !services.redisUrl) {
      rows.push(
        skipped(
          'peer',
          'better-auth getSession',
          'needs DATABASE_URL and REDIS_URL (a shared Postgres and Redis)',
        ),
      );
      return rows;
    }
    const peerPort = await freePort();
    const peer = startNode(
      'dist/bench/peer/better-auth.server.js',
      [],
      {
        PATH: process.env.PATH,
        PORT: String(peerPort),
        DATABASE_URL: services.databaseUrl,
        REDIS_URL: services.redisUrl,
      },
      { stdout: 'pipe' },
    );
    try {
      const ready = JSON.parse(await firstLine(peer)) as { port: number; cookie: string };
      const peerLoad = await hammer(
        `http://127.0.0.1:${ready.port}/profile`,
        seconds,
        { headers: { cookie: ready.cookie } },
        peer,
      );
      const ours = await hammer(
        `${tessera.url}/auth/profile`,
        seconds,
        { headers: cookie },
        server,
      );
      const ratio = ours.reqPerS / peerLoad.reqPerS;
      rows.push(
        {
          section: 'peer',
          name: 'better-auth getSession (Redis secondary storage, same Postgres)',
          values: { ...peerLoad },
        },
        {
          section: 'peer',
          name: 'Tessera GET /auth/profile, measured right after',
          values: { ...ours },
          ratio: { value: ratio, against: 'better-auth' },
          target: {
            text: 'Tessera ahead (req/s and p99)',
            met: ratio > 1 && ours.p99Ms <= peerLoad.p99Ms,
          },
        },
      );
    } finally {
      await peer.stop();
    }
    return rows;
  } finally {
    await floor.stop();
  }
}
