import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext } from '../support/context';
import { freePort, wrap } from '../support/processes';
import type { Row } from '../support/results';

const SECTION = 'start';

/** `npm start` in `cwd` on the embedded defaults until /health answers 200; then SIGTERM. */
async function timeStart(cwd: string, dataDir: string): Promise<number> {
  const port = await freePort();
  const started = Date.now();
  const npm = spawn('npm', ['start'], {
    cwd,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: String(port) },
  });
  let stderr = '';
  npm
    .stderr!.setEncoding('utf8')
    .on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8192)));
  const child = wrap(npm, () => stderr);
  try {
    for (;;) {
      if (npm.exitCode !== null) throw new Error(`npm start exited:\n${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`, {
        signal: AbortSignal.timeout(1000),
      })
        .then((response) => response.ok)
        .catch(() => false);
      if (ok) return (Date.now() - started) / 1000;
      if (Date.now() - started > 120_000) throw new Error(`no /health within 120 s:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    // npm runs the app in a child of its own: signal the whole group.
    process.kill(-npm.pid!, 'SIGTERM');
    await child.stop(20_000);
  }
}

/**
 * `npm start` on a fresh clone of the committed tree (HEAD) after `npm ci` — its node_modules is
 * this checkout's, linked, which is what `npm ci` would install — to /health 200 on the embedded
 * defaults; then a second `npm start` with nothing changed.
 */
export async function startSection(_context: BenchContext): Promise<Row[]> {
  const root = resolve('.');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-start-'));
  try {
    const clone = join(dir, 'tessera');
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${root}`, clone]);
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'));
    const dataDir = join(dir, 'data');
    const first = await timeStart(clone, dataDir);
    const second = await timeStart(clone, dataDir);
    return [
      {
        section: SECTION,
        name: 'first npm start on a fresh clone → /health 200 (embedded)',
        values: { seconds: first },
        target: { text: '≤ 15 s', met: first <= 15 },
      },
      {
        section: SECTION,
        name: 'second npm start, nothing changed → /health 200',
        values: { seconds: second },
        target: { text: '≤ 5 s', met: second <= 5 },
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
