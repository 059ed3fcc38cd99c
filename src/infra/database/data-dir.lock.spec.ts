import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, DataDirLock } from './data-dir.lock';

/** A process that stays alive until killed, and its pid. */
function otherProcess() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { pid: child.pid!, stop: () => (child.kill('SIGKILL'), exited) };
}

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

describe('DataDirLock', () => {
  let dir: string;
  const lockFile = () => join(dir, 'tessera.lock');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the directory with its pid until released, and refuses a second holder meanwhile', () => {
    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(lockFile(), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    expect(() => DataDirLock.acquire(dir)).toThrow(DataDirInUseError);

    lock.release();
    expect(existsSync(lockFile())).toBe(false);
    DataDirLock.acquire(dir).release();
  });

  it('refuses while another live process holds it, naming the directory and that pid', async () => {
    const holder = otherProcess();
    try {
      writeFileSync(lockFile(), `${holder.pid} ${startTimeOf(holder.pid)}\n`);
      expect(() => DataDirLock.acquire(dir)).toThrow(
        `DATA_DIR ${dir} is in use by another process (pid ${holder.pid})`,
      );
      expect(readFileSync(lockFile(), 'utf8')).toContain(String(holder.pid));
    } finally {
      await holder.stop();
    }
  });

  it('takes over the lock of a process that is gone (a crash, kill -9)', async () => {
    const holder = otherProcess();
    writeFileSync(lockFile(), `${holder.pid} ${startTimeOf(holder.pid)}\n`);
    await holder.stop();

    const lock = DataDirLock.acquire(dir);
    expect(readFileSync(lockFile(), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (pid reused)', async () => {
    const unrelated = otherProcess();
    try {
      writeFileSync(lockFile(), `${unrelated.pid} 1\n`);
      DataDirLock.acquire(dir).release();
    } finally {
      await unrelated.stop();
    }
  });

  it('takes over a lock left with its own pid by an earlier process (a container restarts at pid 1)', () => {
    writeFileSync(lockFile(), `${process.pid} 1\n`);
    DataDirLock.acquire(dir).release();
  });

  it('takes over an unreadable or empty lock file', () => {
    writeFileSync(lockFile(), '');
    DataDirLock.acquire(dir).release();
  });
});
