import { generateKeyPairSync, type KeyObject } from 'node:crypto';
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
 * 127.0.0.1:6379, else the in-process driver (said in the output). Sessions are HS256 (the default);
 * the bare verify of RS256 and ES256 tokens is printed beside it, for operators choosing one.
 */
const SEQUENTIAL_OPS = 5_000;
const CONCURRENT_OPS = 50_000;
const IN_FLIGHT = 50;
const JWT_OPS = 100_000;
const ASYMMETRIC_JWT_OPS = 20_000;

const pem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }).toString();

/** Bare `JwtCodec.verify` of one valid token, ops/s. */
function jwtVerifyRate(codec: JwtCodec, total: number): number {
  const token = codec.sign({ user_id: 1, username: 'bench', jti: 'bench' });
  if (!codec.verify(token)) throw new Error('bench token does not verify');
  for (let i = 0; i < total / 10; i++) codec.verify(token);
  const started = process.hrtime.bigint();
  for (let i = 0; i < total; i++) codec.verify(token);
  return Math.round(total / (Number(process.hrtime.bigint() - started) / 1e9));
}

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

    const jwt = jwtVerifyRate(codec, JWT_OPS);
    const asymmetric = (['RS256', 'ES256'] as const).map((algorithm) => {
      const { privateKey } =
        algorithm === 'RS256'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const other = new JwtCodec(
        loadConfig({
          DATA_DIR: dataDir,
          NODE_ENV: 'test',
          JWT_ALGORITHM: algorithm,
          JWT_PRIVATE_KEY: pem(privateKey),
        }),
      );
      return [algorithm, jwtVerifyRate(other, ASYMMETRIC_JWT_OPS)] as const;
    });

    const rows = [
      ['sequential', SEQUENTIAL_OPS, 1],
      [`${IN_FLIGHT} in flight`, CONCURRENT_OPS, IN_FLIGHT],
    ] as const;
    console.log(
      `tokens bench: ${where}; HS256; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model}`,
    );
    console.log(`bare JWT verify (CPU only):           ${jwt.toLocaleString('en')} ops/s`);
    for (const [algorithm, rate] of asymmetric) {
      console.log(
        `bare JWT verify, ${algorithm} (CPU only):    ${rate.toLocaleString('en')} ops/s`,
      );
    }
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
