import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Refused: another live process holds the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by another process (pid ${holderPid}); stop it or set another DATA_DIR`,
    );
  }
}

/** Directories this process holds, so that a second open in the same process is refused too. */
const heldHere = new Set<string>();

/** The process's start time (Linux), so that a reused pid is not taken for the holder. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, startTime: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = startTimeOf(pid);
  return startTime === undefined || now === undefined || now === startTime;
}

/**
 * One process per embedded data directory (docs/RELIABILITY.md): two PGlite instances writing one
 * Postgres data directory would corrupt it. An exclusive lock file `DATA_DIR/tessera.lock` holds the
 * holder's pid and start time; a lock whose holder is gone (a crash, `kill -9`) is stale and taken
 * over, so it never blocks the next start. The app, the admin CLI and the migration CLI all open the
 * embedded database through this.
 */
export class DataDirLock {
  private constructor(private readonly path: string) {}

  /**
   * Throws DataDirInUseError when a live process holds `dataDir`, without taking it: entry points
   * call it before building the app, so that the refusal is their one line rather than a stack
   * trace from deep in the module tree. `acquire` still decides.
   */
  static assertFree(dataDir: string): void {
    refuseIfHeld(dataDir, join(dataDir, 'tessera.lock'));
  }

  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, 'tessera.lock');
    // Written aside, then linked into place: the lock file never exists without its holder's pid.
    const draft = `${path}.${process.pid}`;
    writeFileSync(draft, `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        refuseIfHeld(dataDir, path);
        try {
          linkSync(draft, path);
          heldHere.add(path);
          return new DataDirLock(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        refuseIfHeld(dataDir, path);
        removeIfPresent(path);
      }
    } finally {
      removeIfPresent(draft);
    }
    throw new Error(`DATA_DIR ${dataDir}: could not take the lock file ${path}`);
  }

  release(): void {
    if (!heldHere.delete(this.path)) return;
    const [pid] = readHolder(this.path);
    if (pid === process.pid) removeIfPresent(this.path);
  }
}

/**
 * Throws when this process or another live one holds the lock at `path`; a file left by a process
 * that is gone is not a holder. Our own pid in a file we did not write is a previous process's,
 * whose pid was reused for us.
 */
function refuseIfHeld(dataDir: string, path: string): void {
  if (heldHere.has(path)) throw new DataDirInUseError(dataDir, process.pid);
  const [pid, startTime] = readHolder(path);
  if (pid !== undefined && pid !== process.pid && isAlive(pid, startTime)) {
    throw new DataDirInUseError(dataDir, pid);
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** The holder's pid and start time; undefined parts for an empty or unreadable file. */
function readHolder(path: string): [number | undefined, string | undefined] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [undefined, undefined];
  }
  const [pid, startTime] = text.trim().split(' ');
  const parsed = Number(pid);
  return [Number.isSafeInteger(parsed) && parsed > 0 ? parsed : undefined, startTime || undefined];
}
