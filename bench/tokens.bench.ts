import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config';
import { IoRedisStore } from '../src/infra/redis/ioredis.store';
import { MemoryStore } from '../src/infra/redis/memory.store';
import type { RedisStore } from '../src/infra/redis/redis-store';
import { JwtCodec } from '../src/tokens/jwt-codec.service';
import { SessionTokenManager } from '../src/tokens/session-token.service';

/**
 * verifySession throughput next to its two parts, measured in the same run: a bare JWT verify and a
 * bare Redis round trip (HGETALL of the same session key). Uses REDIS_URL, else a local Redis on
 * 127.0.0.1:6379, else the in-process driver (said in the output).
 */
const SEQUENTIAL_OPS = 5_000;
const CONCURRENT_OPS = 50_000;
const IN_FLIGHT = 50;
const JWT_OPS = 100_000;

async function opsPerSecond(total: number, inFlight: number, op: () => Promise<unknown>) {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < total) await op();
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(total / seconds);
}

async function connect(): Promise<{ store: RedisStore; where: string }> {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const store = new IoRedisStore({ url, keyPrefix: `tessera-bench:${process.pid}:` });
  try {
    await store.ping();
    return { store, where: `Redis at ${new URL(url).host}` };
  } catch {
    await store.close();
    return { store: new MemoryStore(), where: 'in-process driver (no Redis reachable)' };
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const { store, where } = await connect();
  try {
    const config = loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test' });
    const codec = new JwtCodec(config);
    const sessions = new SessionTokenManager(store, codec, config);
    const token = await sessions.createSession(1, { username: 'bench' });
    const { jti } = (await sessions.verifySession(token))!;
    const key = `session:1:${jti}`;

    // Warm up connections and JIT so that neither measurement pays for the other's first run.
    await opsPerSecond(2_000, IN_FLIGHT, () => store.hgetall(key));
    await opsPerSecond(2_000, IN_FLIGHT, () => sessions.verifySession(token));

    const jwtStarted = process.hrtime.bigint();
    for (let i = 0; i < JWT_OPS; i++) codec.verify(token);
    const jwt = Math.round(JWT_OPS / (Number(process.hrtime.bigint() - jwtStarted) / 1e9));

    const rows = [
      ['sequential', SEQUENTIAL_OPS, 1],
      [`${IN_FLIGHT} in flight`, CONCURRENT_OPS, IN_FLIGHT],
    ] as const;
    console.log(
      `tokens bench: ${where}; HS256; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model}`,
    );
    console.log(`bare JWT verify (CPU only):           ${jwt.toLocaleString('en')} ops/s`);
    for (const [label, total, inFlight] of rows) {
      const redis = await opsPerSecond(total, inFlight, () => store.hgetall(key));
      const verify = await opsPerSecond(total, inFlight, () => sessions.verifySession(token));
      console.log(`-- ${label}`);
      console.log(`bare Redis round trip (HGETALL):      ${redis.toLocaleString('en')} ops/s`);
      console.log(`verifySession (JWT + Redis):          ${verify.toLocaleString('en')} ops/s`);
      console.log(
        `ratio verifySession / Redis round trip: ${(verify / redis).toFixed(2)}; / JWT verify: ${(verify / jwt).toFixed(3)}`,
      );
    }
    await sessions.revokeSessionToken(token);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
