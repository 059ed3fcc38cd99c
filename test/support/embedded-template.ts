import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/infra/database/data-source-options';
import { EMBEDDED_POOL_SIZE, EmbeddedPostgres } from '../../src/infra/database/embedded-postgres';
import { waitFor } from './wait-for';

/**
 * An embedded database (PGlite) initialised and migrated once per test run, then copied into each
 * suite's DATA_DIR: initdb is most of an embedded boot (10 s and more on a busy 2-core machine),
 * copying the 40 MB directory well under one. The app still runs its migrations at start and finds
 * none pending. The template lives in the run's directory (test/support/global-setup.mjs); workers
 * build it at most once between them: whoever takes the lock builds, the others wait for it.
 */
const TEMPLATE = 'embedded-pgdata';
/** Set by test/support/global-setup.mjs to the run's scratch directory. */
const RUN_DIR_VARIABLE = 'TESSERA_TEST_RUN_DIR';
/** Longer than a build takes on a loaded machine, and well inside the hook timeout (jest.config.js). */
const WAIT_FOR_TEMPLATE_MS = 60_000;

/**
 * Copies the migrated template into `dataDir/pgdata`, where the app's embedded Postgres opens it.
 * Returns false, leaving `dataDir` alone, when there is no template (Jest ran without this
 * project's globalSetup, the build failed, or it took too long): the app then runs initdb and the
 * migrations itself, and reports whatever went wrong in the suite that boots it. A failed build
 * leaves no mark: the next suite tries again, at the price the fallback would cost it anyway.
 */
export async function seedEmbeddedDatabase(dataDir: string): Promise<boolean> {
  const runDir = process.env[RUN_DIR_VARIABLE];
  if (!runDir || !existsSync(runDir)) return false;
  const template = await migratedTemplate(runDir);
  if (!template) return false;
  cpSync(template, join(dataDir, 'pgdata'), { recursive: true });
  return true;
}

async function migratedTemplate(runDir: string): Promise<string | undefined> {
  const template = join(runDir, TEMPLATE);
  const lock = `${template}.lock`;
  const outcome = await waitFor(
    async (): Promise<{ template?: string } | undefined> => {
      if (existsSync(template)) return { template };
      if (!takeLock(lock)) return undefined;
      try {
        await build(runDir, template);
        return { template };
      } catch (error) {
        process.stderr.write(
          `test-app: could not build the embedded database template (${String(error)}); ` +
            'this suite runs initdb and the migrations itself\n',
        );
        return {};
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    },
    { timeoutMs: WAIT_FOR_TEMPLATE_MS, intervalMs: 100, message: 'the embedded database template' },
  ).catch(() => ({}) as { template?: string });
  return outcome?.template;
}

/** mkdir is atomic: one process wins. A lock whose owner died is removed, to be taken next time. */
function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number(readFileOrEmpty(join(lock, 'pid')));
  if (owner && !isAlive(owner)) rmSync(lock, { recursive: true, force: true });
  return false;
}

function readFileOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The same start and migrations as the app's (src/infra/database), then renamed into place whole. */
async function build(runDir: string, template: string): Promise<void> {
  const scratch = mkdtempSync(join(runDir, 'building-'));
  try {
    const server = await EmbeddedPostgres.start(scratch);
    try {
      const dataSource = new DataSource(
        buildDataSourceOptions(server.url, { migrationsRun: false, poolSize: EMBEDDED_POOL_SIZE }),
      );
      await dataSource.initialize();
      try {
        await dataSource.runMigrations();
      } finally {
        await dataSource.destroy();
      }
    } finally {
      await server.stop();
    }
    renameSync(join(scratch, 'pgdata'), template);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
