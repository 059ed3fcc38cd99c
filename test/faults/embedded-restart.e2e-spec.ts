import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRegistration } from '../support/auth';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait-for';
import { reportRow } from './support/fault-report';

// Fault row 6 (docs/RELIABILITY.md, "Fault table"): embedded mode, as a newcomer runs it with
// `npm start` and no service URLs. A signed-in browser's cookie still works after a restart; an
// entry that expired while the server was down (a one-time stream ticket) does not come back; a
// second server on the same DATA_DIR is refused; a lock left by `kill -9` does not block the next.

const TICKET_TTL_S = 1;

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** The exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals | null>;
}

function npmStart(dataDir: string, port: number): Started {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATA_DIR: dataDir,
      PORT: String(port),
      SSE_TICKET_TTL_S: String(TICKET_TTL_S),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, signalled as a whole, as a process manager does (npm and node alike).
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

async function healthy(server: Started): Promise<void> {
  await waitFor(async () => (await fetch(`${server.url}/health`).catch(() => undefined))?.ok, {
    timeoutMs: 60_000,
    intervalMs: 100,
    message: `npm start on ${server.url}`,
  });
}

/** Signals npm and what it started; a group already gone is fine. */
function signalGroup(server: Started, signal: NodeJS.Signals): void {
  try {
    process.kill(-server.child.pid!, signal);
  } catch {
    // Already exited.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in DATA_DIR/tessera.lock: the node process `npm start` runs. */
function lockHolder(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'tessera.lock'), 'utf8').split(' ')[0]);
}

describe('fault row 6: embedded mode across restarts with npm start', () => {
  let dataDir: string;
  const started: Started[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-faults-embedded-'));
  });

  afterAll(async () => {
    for (const server of started) signalGroup(server, 'SIGKILL');
    await Promise.all(started.map((server) => server.exited));
    rmSync(dataDir, { recursive: true, force: true });
  });

  function start(port: number): Started {
    const server = npmStart(dataDir, port);
    started.push(server);
    return server;
  }

  it('keeps the cookie, drops what expired, refuses a second server and gets past a stale lock', async () => {
    const port = await freePort();
    const first = start(port);
    await healthy(first);

    const register = await fetch(`${first.url}/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(newRegistration()),
    });
    expect(register.status).toBe(201);
    const cookie = register.headers.getSetCookie()[0].split(';')[0];
    const ticketRes = await fetch(`${first.url}/sse/ticket`, {
      method: 'POST',
      headers: { Cookie: cookie, Origin: first.url },
    });
    expect(ticketRes.status).toBe(200);
    const { ticket } = (await ticketRes.json()) as { ticket: string };
    const ticketExpiresAt = Date.now() + TICKET_TTL_S * 1000;

    // A second server on the same DATA_DIR is refused, with one line naming the holder.
    const second = start(await freePort());
    const secondExit = await second.exited;
    expect(secondExit).toBe(1);
    expect(second.output()).toContain(
      `DATA_DIR ${dataDir} is in use by another process (pid ${lockHolder(dataDir)})`,
    );

    // Graceful restart: SIGTERM to the group. npm ends by the signal at once; the server saves,
    // removes its lock (which only an orderly stop does) and exits.
    const server = lockHolder(dataDir);
    signalGroup(first, 'SIGTERM');
    expect([0, 'SIGTERM']).toContain(await first.exited);
    await waitFor(() => !isAlive(server), { timeoutMs: 15_000, message: 'the server to exit' });
    expect(existsSync(join(dataDir, 'tessera.lock'))).toBe(false);
    await waitFor(() => Date.now() > ticketExpiresAt, { message: 'the ticket to expire' });
    const restarted = start(port);
    await healthy(restarted);

    const profile = await fetch(`${restarted.url}/auth/profile`, { headers: { Cookie: cookie } });
    expect(profile.status).toBe(200);
    const stream = await fetch(`${restarted.url}/sse/notifications?ticket=${ticket}`);
    expect(stream.status).toBe(401);
    await stream.body?.cancel();

    // kill -9 leaves its lock behind; the next start takes it over.
    const holder = lockHolder(dataDir);
    process.kill(holder, 'SIGKILL');
    await restarted.exited;
    const killedAt = Date.now();
    const afterCrash = start(port);
    await healthy(afterCrash);
    const upAfterKill9Ms = Date.now() - killedAt;
    const stillSignedIn = await fetch(`${afterCrash.url}/auth/profile`, {
      headers: { Cookie: cookie },
    });
    reportRow('6 embedded restart with npm start', {
      cookieAfterRestart: profile.status,
      expiredTicketAfterRestart: stream.status,
      secondServerExit: secondExit,
      upAfterKill9Ms,
      cookieAfterKill9: stillSignedIn.status,
    });
    // After kill -9 the stand-in keeps what it saved last (every 60 s and at each graceful stop).
    expect(stillSignedIn.status).toBe(200);
    expect(lockHolder(dataDir)).not.toBe(holder);
  });
});
