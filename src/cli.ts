import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { isEmail } from 'class-validator';
import { AppModule } from './app.module';
import { PASSWORD_MAX, PASSWORD_MIN } from './auth/auth.dto';
import { EMAIL_MAX, normalizeEmail } from './auth/email-address';
import { ConfigError, loadConfig } from './config/load-config';
import { AdminBootstrapService } from './admin/admin-bootstrap.service';
import { DataDirInUseError, DataDirLock } from './infra/database/data-dir.lock';

const USAGE = 'Usage: npm run cli -- create-admin --email <email> --password <password>';

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
      options: { email: { type: 'string' }, password: { type: 'string' } },
      allowPositionals: true,
    });
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  const [command] = parsed.positionals;
  const { email: given, password } = parsed.values;
  if (command !== 'create-admin' || !given || !password) fail(USAGE, 2);
  // The same form as every other way in (src/auth/email-address.ts), validated in that form.
  const email = normalizeEmail(given);
  if (!isEmail(email) || email.length > EMAIL_MAX) fail('--email must be an email address', 2);
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    fail(`--password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`, 2);
  }

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
    const setup = await app.get(AdminBootstrapService).ensureAdmin(email, password);
    const what = setup.created
      ? 'created as admin'
      : setup.granted
        ? 'made admin (password unchanged)'
        : 'already admin (nothing changed)';
    process.stdout.write(`${given} (author ${setup.author.id}): ${what}\n`);
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => fail(`create-admin failed: ${(error as Error).message}`, 1));
