import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/ports';
import { waitFor } from '../../support/wait-for';

const MAIN = join(process.cwd(), 'dist/src/main.js');

/** Limits raised so that the load of a fault row is never refused as abuse. */
const LOAD_FRIENDLY = {
  RATE_LIMIT_LOGIN_IP: '100000/60',
  RATE_LIMIT_LOGIN_EMAIL: '100000/60',
  RATE_LIMIT_REGISTER_IP: '100000/60',
  RATE_LIMIT_TICKET_SESSION: '100000/60',
  RATE_LIMIT_FOLLOW_AUTHOR: '100000/60',
  BCRYPT_ROUNDS: '4',
  SSE_MAX_PER_USER: '10000',
  LOG_LEVEL: 'warn',
};

/**
 * The built server (`dist/`) as its own process, as it runs in production: what a fault does to
 * it (a crash, an exit code, its memory) is seen from outside.
 */
export class TesseraProcess {
  private output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout?.on('data', (chunk) => (this.output += chunk));
    child.stderr?.on('data', (chunk) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Starts it and resolves once it listens (its /health may still say a service is down).
   * `nodeFlags` go to node before the script (`--trace-gc` for `majorGcs()`).
   */
  static async start(
    env: Record<string, string>,
    nodeFlags: string[] = [],
  ): Promise<TesseraProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [...nodeFlags, MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        ...LOAD_FRIENDLY,
        ...env,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new TesseraProcess(child, `http://127.0.0.1:${port}`);
    let exitCode: number | null | undefined;
    void app.exited.then((code) => (exitCode = code));
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new Error(`exited ${exitCode}: ${app.logs()}`);
        return (await fetch(`${app.url}/.well-known/jwks.json`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: `Tessera on port ${port}` },
    );
    return app;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Its resident set size now, in bytes (Linux /proc). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
  }

  /**
   * The full (mark-compact) collections so far, from the `--trace-gc` lines it printed: when, in ms
   * since the process started, and the heap left after each, which is what it retains.
   */
  majorGcs(): { atMs: number; heapAfterMb: number }[] {
    const collections = this.output.matchAll(
      /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/gm,
    );
    return [...collections].map((match) => ({
      atMs: Number(match[1]),
      heapAfterMb: Number(match[2]),
    }));
  }

  logs(): string {
    return this.output;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within the deadline. */
  async stop(deadlineMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), deadlineMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
