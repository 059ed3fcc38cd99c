import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { loadConfig } from '../../src/config/load-config';
import { IoRedisStore } from '../../src/infra/redis/ioredis.store';
import { MemoryStore } from '../../src/infra/redis/memory.store';
import type { RedisStore } from '../../src/infra/redis/redis-store';
import { JwtCodec } from '../../src/tokens/jwt-codec.service';
import { SessionTokenManager } from '../../src/tokens/session-token.service';
import type { BenchContext } from '../support/context';
import type { Row } from '../support/results';

const SECTION = 'session-verification';
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

/**
 * verifySession throughput next to its two parts, measured in the same run: a bare JWT verify and a
 * bare Redis round trip (HGETALL of the same session key), on the run's Redis or the in-process
 * driver. Sessions are HS256 (the default); the bare verify of RS256 and ES256 is measured beside
 * it, for operators choosing one. In this process: there is no server, only the two parts.
 */
export async function sessionVerificationSection(context: BenchContext): Promise<Row[]> {
  const { services } = context;
  const store: RedisStore = services.redisUrl
    ? new IoRedisStore({ url: services.redisUrl, keyPrefix: services.redisKeyPrefix })
    : new MemoryStore();
  const scale = context.quick ? 0.1 : 1;
  try {
    const config = loadConfig({ DATA_DIR: services.dataDir, NODE_ENV: 'test' });
    const codec = new JwtCodec(config);
    const sessions = new SessionTokenManager(store, codec, config);
    const token = await sessions.createSession(1, { username: 'bench' });
    const { jti } = (await sessions.verifySession(token))!;
    const key = `session:1:${jti}`;

    // Warm up connections and JIT so that neither measurement pays for the other's first run.
    await opsPerSecond(2_000, IN_FLIGHT, () => store.hgetall(key));
    await opsPerSecond(2_000, IN_FLIGHT, () => sessions.verifySession(token));

    const jwt = jwtVerifyRate(codec, JWT_OPS * scale);
    const rows: Row[] = [
      { section: SECTION, name: 'bare JWT verify, HS256 (CPU only)', values: { opsPerS: jwt } },
    ];
    for (const algorithm of ['RS256', 'ES256'] as const) {
      const { privateKey } =
        algorithm === 'RS256'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const other = new JwtCodec(
        loadConfig({
          DATA_DIR: services.dataDir,
          NODE_ENV: 'test',
          JWT_ALGORITHM: algorithm,
          JWT_PRIVATE_KEY: pem(privateKey),
        }),
      );
      rows.push({
        section: SECTION,
        name: `bare JWT verify, ${algorithm} (CPU only)`,
        values: { opsPerS: jwtVerifyRate(other, ASYMMETRIC_JWT_OPS * scale) },
      });
    }
    for (const [label, total, inFlight] of [
      ['sequential', SEQUENTIAL_OPS * scale, 1],
      [`${IN_FLIGHT} in flight`, CONCURRENT_OPS * scale, IN_FLIGHT],
    ] as const) {
      const redis = await opsPerSecond(total, inFlight, () => store.hgetall(key));
      const verify = await opsPerSecond(total, inFlight, () => sessions.verifySession(token));
      rows.push(
        {
          section: SECTION,
          name: `bare Redis round trip (HGETALL), ${label}`,
          values: { opsPerS: redis },
        },
        {
          section: SECTION,
          name: `verifySession (JWT + Redis), ${label}`,
          values: { opsPerS: verify },
          ratio: { value: verify / redis, against: 'bare Redis round trip' },
        },
      );
    }
    await sessions.revokeSessionToken(token);
    return rows;
  } finally {
    await store.close();
  }
}
