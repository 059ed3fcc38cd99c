import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../support/ports';

const execFileAsync = promisify(execFile);

/** Debian keeps initdb and pg_ctl under /usr/lib/postgresql/<version>/bin, outside PATH. */
function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => existsSync(join(root, entry, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions.length > 0 ? join(root, versions[0], 'bin', name) : name;
}

/** Postgres refuses to run as root: as root, its programs run as the `postgres` user. */
const asRoot = process.getuid?.() === 0;

async function runPostgresTool(name: string, args: string[]): Promise<void> {
  const [command, commandArgs] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', postgresBin(name), ...args]]
    : [postgresBin(name), args];
  await execFileAsync(command, commandArgs, { timeout: 60_000 });
}

/** Whether this machine can run a throwaway cluster (the fault suite needs one). */
export function canRunPostgresCluster(): boolean {
  return existsSync(postgresBin('initdb')) && existsSync(postgresBin('pg_ctl'));
}

/**
 * A throwaway Postgres cluster of the fault suite's own (`initdb` in a temporary directory, on a
 * spare loopback port, trust authentication), which it may stop and start; the machine's shared
 * Postgres is never touched.
 */
export class PostgresCluster {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async create(): Promise<PostgresCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-faults-pg-'));
    if (asRoot) await execFileAsync('chown', ['postgres:postgres', dir]);
    const cluster = new PostgresCluster(await freePort(), dir);
    await runPostgresTool('initdb', [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await cluster.resume();
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the cluster (again) and waits until it accepts connections. */
  async resume(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await runPostgresTool('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'postgres.log'),
      '-o',
      options,
      '-w',
      'start',
    ]);
  }

  /** A fast shutdown: open connections are cut, as when Postgres goes away for real. */
  async stop(): Promise<void> {
    await runPostgresTool('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  async close(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs one query on a connection of its own. */
  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }
}
