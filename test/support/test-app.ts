import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client } from 'pg';
import request from 'supertest';
import { createApp } from '../../src/app.factory';
import type { AppConfig } from '../../src/config/app-config';
import { loadConfig, type RawEnvironment } from '../../src/config/load-config';
import { IoRedisStore } from '../../src/infra/redis/ioredis.store';
import { seedEmbeddedDatabase } from './embedded-template';

/** The real services CI provides; unset means the embedded defaults. */
export const SERVICES = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  keyPrefix: process.env.REDIS_KEY_PREFIX || 'tessera-test:',
};

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** supertest bound to the running server. */
  http: () => ReturnType<typeof request>;
  baseUrl: string;
  /**
   * Stops the app and starts it again on the same database, Redis prefix and DATA_DIR;
   * `whileStopped` runs in between.
   */
  restart(whileStopped?: () => void | Promise<void>): Promise<TestApp>;
  /** Stops the app and removes its database, keys and DATA_DIR. */
  close(): Promise<void>;
}

interface Resources {
  env: RawEnvironment;
  cleanup: () => Promise<void>;
}

/**
 * One startTestApp: its resources and the app currently running (or booting) on them. From the
 * call on until `close()`, it stays in `open`, from which the test environment closes it after the
 * file's last hook (test/support/test-environment.mjs).
 */
interface Lease {
  /** Set once provisioned. */
  resources?: Resources;
  /** The app being booted or running; undefined once stopped. */
  app?: NestExpressApplication;
  /** Settles when the provisioning or boot in progress has finished, however it ended. */
  busy: Promise<unknown>;
  released?: Promise<void>;
}

/** Leases of this test file not closed yet (Jest gives every test file its own module registry). */
const open = new Set<Lease>();

/** How long the after-file cleanup waits for a start still in progress before giving it up. */
const LEFTOVER_WAIT_MS = 120_000;

/** A fresh database (or embedded data dir) and Redis key prefix for one suite. */
async function provision(overrides: RawEnvironment): Promise<Resources> {
  const suffix = randomBytes(6).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-test-'));
  const keyPrefix = `${SERVICES.keyPrefix}${suffix}:`;
  const env: RawEnvironment = {
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    REDIS_URL: SERVICES.redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    // Suites sign many authors up from 127.0.0.1; the rate-limit suite sets its own limits.
    RATE_LIMIT_LOGIN_IP: '10000/60',
    RATE_LIMIT_LOGIN_EMAIL_IP: '10000/60',
    RATE_LIMIT_LOGIN_EMAIL: '10000/60',
    RATE_LIMIT_CHANGE_PASSWORD_SESSION: '10000/60',
    RATE_LIMIT_FOLLOW_AUTHOR: '10000/60',
    RATE_LIMIT_SHOUT_AUTHOR: '10000/60',
    RATE_LIMIT_REGISTER_IP: '10000/60',
    RATE_LIMIT_FORGOT_EMAIL: '10000/60',
    RATE_LIMIT_PHONE_USER: '10000/60',
    RATE_LIMIT_TICKET_SESSION: '10000/60',
    BCRYPT_ROUNDS: '4',
    ...overrides,
  };
  let dropDatabase = async () => {};
  const cleanup = async () => {
    try {
      await deleteKeys(keyPrefix);
      await dropDatabase();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  try {
    if (SERVICES.databaseUrl) {
      const name = `tessera_test_${suffix}`;
      await adminQuery(`CREATE DATABASE ${name}`);
      dropDatabase = () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      const url = new URL(SERVICES.databaseUrl);
      url.pathname = `/${name}`;
      env.DATABASE_URL = url.toString();
    } else {
      await seedEmbeddedDatabase(dataDir);
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { env, cleanup };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: SERVICES.databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function deleteKeys(keyPrefix: string): Promise<void> {
  if (!SERVICES.redisUrl) return;
  const store = new IoRedisStore({ url: SERVICES.redisUrl, keyPrefix });
  try {
    for await (const keys of store.scan('*', 500)) await store.del(...keys);
  } finally {
    await store.close();
  }
}

/** Boots an app on the lease's resources; an app that fails to start is closed again. */
function boot(lease: Lease, resources: Resources): Promise<TestApp> {
  return track(
    lease,
    (async () => {
      const config = loadConfig(resources.env);
      lease.app = await createApp(config);
      try {
        await lease.app.listen(0, '127.0.0.1');
      } catch (error) {
        await stopApp(lease);
        throw error;
      }
      return testAppOf(lease, resources, lease.app, config);
    })(),
  );
}

function track<T>(lease: Lease, work: Promise<T>): Promise<T> {
  lease.busy = work.catch(() => undefined);
  return work;
}

function testAppOf(
  lease: Lease,
  resources: Resources,
  app: NestExpressApplication,
  config: AppConfig,
): TestApp {
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    config,
    http: () => request(app.getHttpServer()),
    baseUrl: `http://127.0.0.1:${address.port}`,
    restart: async (whileStopped) => {
      await stopApp(lease);
      await whileStopped?.();
      return boot(lease, resources);
    },
    close: () => release(lease),
  };
}

async function stopApp(lease: Lease): Promise<void> {
  const app = lease.app;
  lease.app = undefined;
  await app?.close();
}

/** Stops the app and removes the resources, once, however often it is called. */
function release(lease: Lease): Promise<void> {
  lease.released ??= (async () => {
    open.delete(lease);
    try {
      await stopApp(lease);
    } finally {
      await lease.resources?.cleanup();
    }
  })();
  return lease.released;
}

/**
 * Closes what this test file started and did not close: called by the test environment after the
 * file's last hook. A start still in progress (its beforeAll timed out) is awaited first, so that
 * it neither outlives the file nor leaves its database and DATA_DIR behind.
 */
async function closeLeftovers(): Promise<void> {
  const leftovers = [...open];
  if (leftovers.length === 0) return;
  process.stderr.write(
    `test-app: closing ${leftovers.length} app(s) this file did not close (a failed or timed-out hook?)\n`,
  );
  await Promise.all(
    leftovers.map(async (lease) => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'gave up'>((resolve) => {
        timer = setTimeout(() => resolve('gave up'), LEFTOVER_WAIT_MS);
      });
      const outcome = await Promise.race([lease.busy, gaveUp]);
      clearTimeout(timer);
      if (outcome === 'gave up') {
        process.stderr.write(
          `test-app: an app was still starting after ${LEFTOVER_WAIT_MS} ms; left behind\n`,
        );
        return;
      }
      await release(lease).catch((error: unknown) =>
        process.stderr.write(`test-app: cleanup failed: ${String(error)}\n`),
      );
    }),
  );
}
(globalThis as { __tesseraCloseLeftovers?: () => Promise<void> }).__tesseraCloseLeftovers =
  closeLeftovers;

/** Boots the whole app on a free port against its own database and Redis key prefix. */
export async function startTestApp(overrides: RawEnvironment = {}): Promise<TestApp> {
  const lease: Lease = { busy: Promise.resolve() };
  open.add(lease);
  try {
    return await track(
      lease,
      (async () => {
        lease.resources = await provision(overrides);
        return boot(lease, lease.resources);
      })(),
    );
  } catch (error) {
    await release(lease);
    throw error;
  }
}
