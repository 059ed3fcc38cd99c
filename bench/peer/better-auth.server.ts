import type { AddressInfo } from 'node:net';
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { getMigrations } from 'better-auth/db';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';
import express from 'express';
import { Redis } from 'ioredis';
import { Pool } from 'pg';

/**
 * The peer row of `npm run bench`: a minimal better-auth server answering the same authenticated read
 * as Tessera's `GET /auth/profile`, so both are measured side by side with autocannon. The
 * orchestrator starts it as a child process and reads the one line it prints to stdout:
 * `{"port":<number>,"cookie":"<Cookie header value>"}`; everything else goes to stderr.
 *
 * Environment: DATABASE_URL (postgres://, required), REDIS_URL (redis://, required), PORT (default 0,
 * any free port). Its tables live in a schema of its own, `better_auth_bench_<pid>`, and its Redis keys
 * under `better-auth-bench:<pid>:`; both are removed on SIGTERM/SIGINT.
 *
 * The cookie cache is off: with it on, better-auth answers from a signed cookie and skips the session
 * store for minutes at a time, while Tessera looks its session up in Redis on every request. Off, each
 * `/profile` is a real session lookup in Redis, which is the comparison we want.
 */

/** Fixed: the peer's sessions only have to outlive one bench run. */
const SECRET = 'better-auth-bench-secret-not-for-production-use';
const PASSWORD = 'bench-password-1234';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function portFromEnv(): number {
  const port = Number(process.env.PORT ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number, got ${process.env.PORT}`);
  }
  return port;
}

function log(message: string, ...args: unknown[]): void {
  console.error(`[better-auth peer] ${message}`, ...args);
}

/** better-auth's secondary storage on ioredis, every key under `prefix` so shutdown can find them. */
function redisStorage(
  redis: Redis,
  prefix: string,
): NonNullable<BetterAuthOptions['secondaryStorage']> {
  return {
    get: (key) => redis.get(prefix + key),
    set: (key, value, ttl) =>
      ttl ? redis.set(prefix + key, value, 'EX', ttl) : redis.set(prefix + key, value),
    delete: async (key) => {
      await redis.del(prefix + key);
    },
  };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
    if ((keys as string[]).length) await redis.del(...(keys as string[]));
  }
}

async function main(): Promise<void> {
  const databaseUrl = requiredEnv('DATABASE_URL');
  const redisUrl = requiredEnv('REDIS_URL');
  const port = portFromEnv();
  const schema = `better_auth_bench_${process.pid}`;
  const keyPrefix = `better-auth-bench:${process.pid}:`;

  const redis = new Redis(redisUrl, { lazyConnect: true });
  // Fails at once on an unreachable Redis; later commands would retry 20 times each before failing.
  await redis.connect();
  const pool = new Pool({
    connectionString: databaseUrl,
    max: 10,
    options: `-c search_path=${schema}`,
  });
  const app = express();
  // Listen first: better-auth's baseURL needs the port, and with PORT=0 only the OS knows it.
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const listening = app.listen(port, '127.0.0.1', (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  const boundPort = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // autocannon keeps its connections open; without this close() would wait for them.
        server.closeAllConnections();
      });
      const steps: [string, () => Promise<unknown>][] = [
        ['drop schema', () => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)],
        ['delete Redis keys', () => deleteKeys(redis, keyPrefix)],
        ['quit Redis', () => redis.quit()],
        ['end pool', () => pool.end()],
      ];
      let failed = false;
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (error) {
          failed = true;
          log(`cleanup: ${what} failed`, error);
        }
      }
      if (failed) throw new Error('cleanup incomplete');
    })());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }

  try {
    await pool.query(`CREATE SCHEMA "${schema}"`);
    const options: BetterAuthOptions = {
      database: pool,
      secret: SECRET,
      baseURL: `http://127.0.0.1:${boundPort}`,
      emailAndPassword: { enabled: true },
      secondaryStorage: redisStorage(redis, keyPrefix),
      session: {
        cookieCache: { enabled: false },
        // better-auth's default with secondary storage is false: sessions live in Redis only. True also
        // writes them to Postgres; reads still go to Redis, and to Postgres only on a Redis miss.
        storeSessionInDatabase: true,
      },
      // Its default logger writes info and debug to stdout, which carries only the ready line.
      logger: {
        level: 'warn',
        log: (level, message, ...args) => log(`${level}: ${message}`, ...args),
      },
      // Off by default unless BETTER_AUTH_TELEMETRY says otherwise; a bench run makes no outside calls.
      telemetry: { enabled: false },
    };
    await (await getMigrations(options)).runMigrations();
    const auth = betterAuth(options);

    app.get('/profile', async (req, res) => {
      const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
      if (!session) {
        res.status(401).json({ message: 'Unauthorized' });
        return;
      }
      const { id, email, name } = session.user;
      res.json({ id, email, name });
    });
    // No body parser in front: better-auth reads the raw request body itself.
    app.all('/api/auth/{*path}', toNodeHandler(auth));

    const signUp = await auth.api.signUpEmail({
      body: { email: `bench-${process.pid}@example.com`, password: PASSWORD, name: 'Bench User' },
      asResponse: true,
    });
    const cookie = signUp.headers
      .getSetCookie()
      .map((header) => header.split(';', 1)[0])
      .join('; ');
    if (!signUp.ok || !cookie) throw new Error(`sign-up failed: HTTP ${signUp.status}`);

    process.stdout.write(`${JSON.stringify({ port: boundPort, cookie })}\n`);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

main().catch((error: unknown) => {
  log('failed to start', error);
  process.exit(1);
});
