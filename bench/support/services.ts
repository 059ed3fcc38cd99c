import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';

/**
 * Where a bench run keeps its data: a database of its own on DATABASE_URL's server and a key prefix
 * of its own on REDIS_URL, both removed at the end; with neither set, the embedded defaults
 * (PGlite under a temporary DATA_DIR, the in-process Redis stand-in).
 */
export interface BenchServices {
  /** The run's database, or undefined on embedded Postgres. */
  databaseUrl?: string;
  /** Redis, or undefined with the in-process stand-in. */
  redisUrl?: string;
  redisKeyPrefix: string;
  dataDir: string;
  describe: string;
  /** A command connection to the run's Redis (undefined with the in-process stand-in). */
  redis?: Redis;
  cleanup: () => Promise<void>;
}

export async function provisionServices(env: NodeJS.ProcessEnv): Promise<BenchServices> {
  const runId = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const redisKeyPrefix = env.REDIS_URL ? `tessera-bench-${runId}:` : '';
  let databaseUrl: string | undefined;
  if (env.DATABASE_URL) {
    const admin = new Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE tessera_bench_${runId}`);
    await admin.end();
    const url = new URL(env.DATABASE_URL);
    url.pathname = `/tessera_bench_${runId}`;
    databaseUrl = url.toString();
  }
  const redis = env.REDIS_URL ? new Redis(env.REDIS_URL) : undefined;
  const describe = [
    databaseUrl ? `PostgreSQL at ${new URL(databaseUrl).host}` : 'embedded PGlite',
    env.REDIS_URL ? `Redis at ${new URL(env.REDIS_URL).host}` : 'in-process Redis stand-in',
  ].join(', ');
  return {
    databaseUrl,
    redisUrl: env.REDIS_URL || undefined,
    redisKeyPrefix,
    dataDir,
    describe,
    redis,
    cleanup: async () => {
      if (redis) {
        const stream = redis.scanStream({ match: `${redisKeyPrefix}*`, count: 1000 });
        for await (const keys of stream) if ((keys as string[]).length) await redis.del(keys);
        await redis.quit();
      }
      if (databaseUrl && env.DATABASE_URL) {
        const admin = new Client({ connectionString: env.DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS tessera_bench_${runId} WITH (FORCE)`);
        await admin.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
