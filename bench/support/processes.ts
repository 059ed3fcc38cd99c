import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A free port below the ephemeral range (32768+): a server started here may start an embedded
 * Postgres on an ephemeral port, which could otherwise be handed the number just released.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const attempt = () => {
      const port = 20000 + Math.floor(Math.random() * 10000);
      const server = createServer()
        .once('error', attempt)
        .listen(port, '127.0.0.1', () => server.close(() => resolve(port)));
    };
    attempt();
  });
}

/** A child process whose stderr is kept (the last 64 kB) to explain a failure. */
export interface Child {
  process: ChildProcess;
  stderr: () => string;
  /** Resident set size of the process, in bytes (from /proc). */
  rss: () => number;
  /** CPU time the process has used so far (user + system), in ms (from /proc). */
  cpuMs: () => number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop: (graceMs?: number) => Promise<number | null>;
}

export function startNode(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: { cwd?: string; stdout?: 'pipe' | 'ignore'; nodeArgs?: string[] } = {},
): Child {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    cwd: options.cwd,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-65_536);
  });
  return wrap(child, () => stderr);
}

export function wrap(child: ChildProcess, stderr: () => string): Child {
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return {
    process: child,
    stderr,
    rss: () => rssOf(child.pid!),
    cpuMs: () => cpuMsOf(child.pid!),
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) * 1024;
}

/** utime + stime of a process, in ms; /proc counts them in clock ticks of 10 ms. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are plain numbers.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Node options of a server whose garbage `collectGarbage` collects (see gc-on-signal.ts). */
export const COLLECTABLE_NODE_ARGS = [
  '--expose-gc',
  '--require',
  join(process.cwd(), 'dist/bench/support/gc-on-signal.js'),
];

/** Full collections in a child started with COLLECTABLE_NODE_ARGS; resolves once they are done. */
export function collectGarbage(child: Child, deadlineMs = 10_000): Promise<void> {
  const stderr = child.process.stderr!;
  return new Promise((resolve, reject) => {
    let buffer = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stderr.off('data', onData);
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: string) => {
      buffer += chunk;
      if (buffer.includes('bench: garbage collected\n')) finish();
    };
    const timer = setTimeout(
      () => finish(new Error(`no garbage collection within ${deadlineMs} ms:\n${child.stderr()}`)),
      deadlineMs,
    );
    stderr.on('data', onData);
    child.process.kill('SIGUSR2');
  });
}

/** Polls `url` until it answers 200, the child exits, or the deadline passes. */
export async function waitForHttp(url: string, child: Child, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`process exited before ${url} answered:\n${child.stderr()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves with the first stdout line of a child started with `stdout: 'pipe'`. */
export function firstLine(child: Child, deadlineMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`no output within ${deadlineMs} ms:\n${child.stderr()}`)),
      deadlineMs,
    );
    child.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolve(buffer.slice(0, end));
      }
    });
    child.process.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`process exited before printing:\n${child.stderr()}`));
    });
  });
}
