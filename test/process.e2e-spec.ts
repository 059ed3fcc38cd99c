import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRegistration } from './support/auth';
import { waitFor } from './support/wait-for';
import { freePort } from './support/ports';

/** These run the built server (`npm test` builds first) as a newcomer or an operator would. */
const MAIN = join(process.cwd(), 'dist/src/main.js');

function run(
  env: Record<string, string>,
): ChildProcess & { output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => output, exited });
}

describe('the server process', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-process-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([
    ['PORT', 'abc', 'Invalid configuration: PORT must be an integer from 0 to 65535'],
    [
      'DATABASE_URL',
      'not-a-url',
      'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL',
    ],
    [
      'SESSION_COOKIE_SAMESITE',
      'maybe',
      'Invalid configuration: SESSION_COOKIE_SAMESITE must be one of lax, strict, none',
    ],
  ])('exits 1 with one line when %s=%s', async (name, value, line) => {
    const child = run({ DATA_DIR: dataDir, [name]: value });
    expect(await child.exited).toBe(1);
    expect(child.output()).toBe(`${line}\n`);
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const child = run({ DATA_DIR: dataDir, NODE_ENV: 'production' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toBe(
      'Invalid configuration: JWT_SECRET is required when NODE_ENV=production\n',
    );
  });

  it('starts with no environment on embedded defaults and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = run({ DATA_DIR: dataDir, PORT: String(port) });
    const body = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return res?.ok ? res.json() : undefined;
      },
      { timeoutMs: 30_000, message: 'the embedded server to answer /health' },
    );
    expect(body).toEqual({ status: 'ok', db: 'up', redis: 'up' });
    expect(child.output()).toContain('single-instance only');
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  }, 60_000);

  /** Starts the server on `dataDir` and resolves once /health answers 200. */
  async function started(port?: number): Promise<ReturnType<typeof run> & { url: string }> {
    port ??= await freePort();
    const child = run({ DATA_DIR: dataDir, PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok, {
      timeoutMs: 45_000,
      message: 'the embedded server to answer /health',
    });
    return Object.assign(child, { url });
  }

  it('keeps embedded sessions across a restart: the same cookie still works', async () => {
    const port = await freePort();
    const first = await started(port);
    const registered = await fetch(`${first.url}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...newRegistration(), name: 'Restart' }),
    });
    expect(registered.status).toBe(201);
    const cookie = registered.headers.getSetCookie()[0].split(';')[0];
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await started(port);
    try {
      const profile = await fetch(`${second.url}/auth/profile`, { headers: { cookie } });
      expect(profile.status).toBe(200);
      expect(await profile.json()).toMatchObject({ name: 'Restart' });
    } finally {
      second.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 120_000);

  it('refuses a second process on the same DATA_DIR: exit 1, one line naming it and the holder', async () => {
    const first = await started();
    try {
      const second = run({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      expect(await second.exited).toBe(1);
      expect(second.output()).toBe(
        `Tessera failed to start: DATA_DIR ${dataDir} is in use by another process (pid ${first.pid}); stop it or set another DATA_DIR\n`,
      );
    } finally {
      first.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }
    // A clean stop releases the directory.
    const third = await started();
    third.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  }, 120_000);

  it('is not blocked by the lock of a process killed with SIGKILL', async () => {
    const crashed = await started();
    crashed.kill('SIGKILL');
    await crashed.exited;

    const next = await started();
    next.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  }, 120_000);
});
