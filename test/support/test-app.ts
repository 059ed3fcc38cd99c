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
  /** Stops the app and starts it again on the same database, Redis prefix and DATA_DIR. */
  restart(): Promise<TestApp>;
  /** Stops the app and removes its database, keys and DATA_DIR. */
  close(): Promise<void>;
}

interface Resources {
  env: RawEnvironment;
  cleanup: () => Promise<void>;
}

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
  if (SERVICES.databaseUrl) {
    const name = `tessera_test_${suffix}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const url = new URL(SERVICES.databaseUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    dropDatabase = () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  return {
    env,
    cleanup: async () => {
      await deleteKeys(keyPrefix);
      await dropDatabase();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

async function boot(resources: Resources): Promise<TestApp> {
  const config = loadConfig(resources.env);
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const testApp: TestApp = {
    app,
    config,
    http: () => request(app.getHttpServer()),
    baseUrl: `http://127.0.0.1:${address.port}`,
    restart: async () => {
      await app.close();
      return boot(resources);
    },
    close: async () => {
      await app.close();
      await resources.cleanup();
    },
  };
  return testApp;
}

/** Boots the whole app on a free port against its own database and Redis key prefix. */
export async function startTestApp(overrides: RawEnvironment = {}): Promise<TestApp> {
  const resources = await provision(overrides);
  try {
    return await boot(resources);
  } catch (error) {
    await resources.cleanup();
    throw error;
  }
}
