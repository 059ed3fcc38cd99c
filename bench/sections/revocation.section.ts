import { login, logout } from '../support/bench-users';
import type { BenchContext } from '../support/context';
import { nowMs, percentiles } from '../support/latency';
import { type Row, skipped } from '../support/results';
import { SseLoad } from '../support/sse-load';
import { startTessera } from '../support/tessera';

const SECTION = 'revocation';

/**
 * Logout → stream closed: a stream on the main instance, its session logged out on the same
 * instance, then on a second instance sharing Postgres and Redis. One sample at a time.
 */
export async function revocationSection(context: BenchContext): Promise<Row[]> {
  const main = await context.tessera();
  const user = await context.newUser();
  const samples = context.quick ? 10 : 100;
  const load = SseLoad.start();
  const rows: Row[] = [];
  const run = async (logoutUrl: string) => {
    const closed: number[] = [];
    for (let i = 0; i < samples; i++) {
      const token = await login(main.url, user);
      const opened = await load.open(
        [{ url: `${main.url}/sse/notifications`, headers: { cookie: `session_token=${token}` } }],
        1,
      );
      if (opened.failures.length) throw new Error(`stream refused: ${opened.failures[0]}`);
      const started = nowMs();
      await logout(logoutUrl, token);
      const ended = await load.nextEnded(10_000);
      if (!ended) throw new Error('the stream stayed open 10 s after logout');
      closed.push(ended.at - started);
    }
    return percentiles(closed);
  };
  const row = (name: string, result: ReturnType<typeof percentiles>): Row => ({
    section: SECTION,
    name,
    values: { p50Ms: result.p50, p99Ms: result.p99, samples: result.count },
    target: { text: 'p99 ≤ 200 ms', met: result.p99 <= 200 },
  });
  try {
    rows.push(row('logout → stream closed, same instance', await run(main.url)));
    if (!context.services.redisUrl || !context.services.databaseUrl) {
      rows.push(
        skipped(
          SECTION,
          'logout → stream closed, across instances',
          'needs DATABASE_URL and REDIS_URL',
        ),
      );
      return rows;
    }
    const other = await startTessera(context.services, { BCRYPT_ROUNDS: '4' });
    try {
      rows.push(row('logout → stream closed, logout on a second instance', await run(other.url)));
    } finally {
      await other.child.stop();
    }
    return rows;
  } finally {
    load.stop();
  }
}
