import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { isEmail } from 'class-validator';
import { AppModule } from './app.module';
import { PASSWORD_MAX, PASSWORD_MIN } from './auth/auth.dto';
import { EMAIL_MAX, normalizeEmail } from './auth/email-address';
import { LegacySessions, type MigrationCounts } from './auth/legacy-sessions.service';
import type { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { AdminBootstrapService } from './admin/admin-bootstrap.service';
import { DataDirInUseError, DataDirLock } from './infra/database/data-dir.lock';

const USAGE = [
  'Usage: npm run cli -- create-admin --email <email> --password <password>',
  '       npm run cli -- migrate-legacy-sessions [--dry-run]',
].join('\n');

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** Operator commands, run against the same database and Redis as the server (same environment). */
async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
      allowPositionals: true,
    });
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  const [command, ...rest] = parsed.positionals;
  if (rest.length > 0) fail(USAGE, 2);
  if (command === 'create-admin') {
    const { email, password } = parsed.values;
    if (!email || !password || parsed.values['dry-run'] !== undefined) fail(USAGE, 2);
    return createAdmin(email, password);
  }
  if (command === 'migrate-legacy-sessions') {
    if (parsed.values.email !== undefined || parsed.values.password !== undefined) fail(USAGE, 2);
    return migrateLegacySessions(parsed.values['dry-run'] === true);
  }
  fail(USAGE, 2);
}

async function createAdmin(given: string, password: string): Promise<void> {
  // The same form as every other way in (src/auth/email-address.ts), validated in that form.
  const email = normalizeEmail(given);
  if (!isEmail(email) || email.length > EMAIL_MAX) fail('--email must be an email address', 2);
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    fail(`--password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, 2);
  }
  await withApp('create-admin', async (app) => {
    const setup = await app.get(AdminBootstrapService).ensureAdmin(email, password);
    const what = setup.created
      ? 'created as admin'
      : setup.granted
        ? 'made admin (password unchanged)'
        : 'already admin (nothing changed)';
    process.stdout.write(`${given} (author ${setup.author.id}): ${what}\n`);
  });
}

const describe = (counts: MigrationCounts) =>
  `scanned ${counts.scanned}: migrated ${counts.migrated}, already migrated ${counts.alreadyMigrated}, ` +
  `expired ${counts.expired}, malformed ${counts.malformed}, user missing ${counts.userMissing}`;

/** docs/CUT-OVER.md: a progress line per batch on stderr, the counts on stdout; never a token. */
async function migrateLegacySessions(dryRun: boolean): Promise<void> {
  await withApp('migrate-legacy-sessions', async (app, config) => {
    if (config.legacySessions !== 'migrate') {
      fail(
        "migrate-legacy-sessions needs LEGACY_SESSIONS=migrate (and JWT_SECRET, the original service's)",
        1,
      );
    }
    const started = performance.now();
    const counts = await app.get(LegacySessions).migrateAll({
      dryRun,
      onProgress: (progress) => process.stderr.write(`… ${describe(progress)}\n`),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const mode = dryRun ? 'dry run, nothing changed' : 'done';
    process.stdout.write(
      `migrate-legacy-sessions (${mode}) in ${seconds} s: ${describe(counts)}\n`,
    );
  });
}

/** Loads the configuration and the app's modules (without HTTP), runs `work`, and closes. */
async function withApp(
  name: string,
  work: (app: INestApplicationContext, config: AppConfig) => Promise<void>,
): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 1);
    throw error;
  }
  try {
    if (!config.database.url) DataDirLock.assertFree(config.dataDir);
  } catch (error) {
    if (error instanceof DataDirInUseError) fail(error.message, 1);
    throw error;
  }
  // The result line is the output; of Nest's own log only errors are shown, and none when silent.
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: config.logLevel === 'silent' ? false : ['error'],
  });
  try {
    await work(app, config);
  } catch (error) {
    fail(`${name} failed: ${(error as Error).message}`, 1);
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => fail(`cli failed: ${(error as Error).message}`, 1));
