import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestApp } from './test-app';

/** The built CLI, run as an operator would (`npm test` builds first). */
export const CLI = join(process.cwd(), 'dist/src/cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // Only the given environment: nothing from the test process (ADMIN_EMAIL, say) leaks in.
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The environment the app runs with, for a CLI run or a second instance to reach the same database,
 * Redis keys and DATA_DIR (hence the same JWT secret);
 * `extra` adds to it.
 */
export function environmentOf(
  t: TestApp,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    BCRYPT_ROUNDS: '4',
    DATA_DIR: t.config.dataDir,
    DATABASE_URL: t.config.database.url,
    REDIS_URL: t.config.redis.url,
    REDIS_KEY_PREFIX: t.config.redis.keyPrefix,
    ...extra,
  };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
