import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
