import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { login, newRegistration, registerAuthor, type SignedIn } from '../support/auth';
import { CLI, type CliRun, environmentOf, runCli } from '../support/cli';
import { startTestApp, type TestApp } from '../support/test-app';

const USAGE = [
  'Usage: npm run cli -- create-admin --email <email> --password <password>',
  '       npm run cli -- migrate-legacy-sessions [--dry-run]',
].join('\n');

/** What a run reports: its exit code, stderr, and the result line (the last one on stdout). */
function reportOf(run: CliRun) {
  return { code: run.code, stderr: run.stderr, result: run.stdout.trimEnd().split('\n').at(-1) };
}

async function loginStatus(t: TestApp, email: string, password: string): Promise<number> {
  return (await t.http().post('/auth/login').send({ email, password, mode: 'bearer' })).status;
}

/** The REST profile of an account, signed in with its password. */
async function profileOf(t: TestApp, email: string, password: string) {
  const { token } = await login(t, email, password);
  return (await t.http().get('/auth/profile').set('Authorization', `Bearer ${token}`).expect(200))
    .body;
}

async function count(db: DataSource, sql: string, params: unknown[]): Promise<number> {
  const [row] = await db.query(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return Number(row.n);
}

/** Accounts with this email (any case) and admin role rows they hold. */
async function accountRows(t: TestApp, email: string) {
  const db = t.app.get(DataSource);
  return {
    accounts: await count(db, 'author WHERE lower(email) = lower($1)', [email]),
    adminRoles: await count(
      db,
      "author_role ar JOIN author a ON a.id = ar.author_id WHERE lower(a.email) = lower($1) AND ar.role_id = 'admin'",
      [email],
    ),
  };
}

async function auditData(t: TestApp, email: string, type: string) {
  const rows: { data: Record<string, unknown> }[] = await t.app.get(DataSource).query(
    `SELECT e.data FROM audit_event e JOIN author a ON a.id = e.author_id
        WHERE lower(a.email) = lower($1) AND e.type = $2 ORDER BY e.id`,
    [email, type],
  );
  return rows.map((row) => row.data);
}

describe('first admin from ADMIN_EMAIL and ADMIN_PASSWORD', () => {
  const admin = newRegistration();
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
  });
  afterAll(() => t.close());

  it('exists at start, signs in with that password, holds admin, and has a verified email', async () => {
    const profile = await profileOf(t, admin.email, admin.password);
    expect(profile).toMatchObject({
      email: admin.email,
      email_verified: true,
      roles: ['admin', 'user'],
      permissions: ['admin', 'moderate', 'read', 'write'],
    });
    expect(await loginStatus(t, admin.email, `${admin.password}-wrong`)).toBe(401);
    expect(await accountRows(t, admin.email)).toEqual({ accounts: 1, adminRoles: 1 });
    expect(await auditData(t, admin.email, 'role_granted')).toEqual([
      { role: 'admin', by: 'admin_setup' },
    ]);
  });

  it('a restart with the same environment keeps one account and one admin role, and the password changed meanwhile', async () => {
    const { token } = await login(t, admin.email, admin.password);
    const newPassword = `${admin.password}-changed`;
    await t
      .http()
      .post('/auth/change-password')
      .set('Authorization', `Bearer ${token}`)
      .send({ old_password: admin.password, new_password: newPassword })
      .expect(204);

    t = await t.restart();
    expect(await accountRows(t, admin.email)).toEqual({ accounts: 1, adminRoles: 1 });
    expect(await loginStatus(t, admin.email, admin.password)).toBe(401);
    expect(await profileOf(t, admin.email, newPassword)).toMatchObject({
      roles: ['admin', 'user'],
      email_verified: true,
    });
    // Nothing was granted again, so nothing new was audited.
    expect(await auditData(t, admin.email, 'role_granted')).toHaveLength(1);
    expect(await auditData(t, admin.email, 'register')).toHaveLength(1);
  });
});

describe('npm run cli -- create-admin', () => {
  let t: TestApp;
  let env: Record<string, string>;
  let existing: SignedIn;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    t = await startTestApp();
    env = environmentOf(t);
    existing = await registerAuthor(t);
  });
  afterAll(() => t.close());

  /**
   * Embedded PGlite lets one process at a time open DATA_DIR, and the in-process store is not
   * shared: the app is stopped while the CLI runs, and started again on the same data after.
   */
  async function withAppStopped<T>(run: () => Promise<T>): Promise<T> {
    await t.app.close();
    try {
      return await run();
    } finally {
      t = await t.restart();
    }
  }

  it('refuses bad arguments with exit 2 and says how to call it', async () => {
    const { email, password } = newRegistration();
    // None of these reaches the database, so they can run side by side.
    const cases: Record<string, string[]> = {
      badEmail: ['create-admin', '--email', 'not-an-email', '--password', password],
      noPassword: ['create-admin', '--email', email],
      noEmail: ['create-admin', '--password', password],
      noCommand: ['--email', email, '--password', password],
      unknownCommand: ['make-admin', '--email', email, '--password', password],
      unknownOption: ['create-admin', '--email', email, '--password', password, '--role', 'x'],
      shortPassword: ['create-admin', '--email', email, '--password', 'short'],
    };
    const runs = Object.fromEntries(
      await Promise.all(
        Object.entries(cases).map(async ([name, args]) => [name, await runCli(args, env)] as const),
      ),
    );
    for (const [name, run] of Object.entries(runs)) {
      expect({ name, code: run.code, stdout: run.stdout }).toEqual({ name, code: 2, stdout: '' });
    }
    expect(runs.badEmail.stderr).toBe('--email must be an email address\n');
    expect(runs.shortPassword.stderr).toMatch(/^--password must be 8 to \d+ characters\n$/);
    for (const run of [runs.noPassword, runs.noEmail, runs.noCommand, runs.unknownCommand]) {
      expect(run.stderr).toBe(`${USAGE}\n`);
    }
    expect(runs.unknownOption.stderr).toContain(USAGE);
    // None of them made an account; the password never shows in the output.
    expect(await accountRows(t, email)).toEqual({ accounts: 0, adminRoles: 0 });
    for (const run of Object.values(runs)) expect(run.stderr).not.toContain(password);
  });

  it('exits 1 with one line when the environment is invalid', async () => {
    const { email, password } = newRegistration();
    const run = await runCli(['create-admin', '--email', email, '--password', password], {
      ...env,
      DATABASE_URL: 'not-a-url',
    });
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL\n',
    });
  });

  it('creates a new admin, then changes nothing when run again', async () => {
    const { email, password } = newRegistration();
    const other = `${password}-second-run`;
    const [first, second] = await withAppStopped(async () => [
      await runCli(['create-admin', '--email', email, '--password', password], env),
      await runCli(['create-admin', '--email', email, '--password', other], env),
    ]);

    const created = await accountRows(t, email);
    const [{ id }] = await t.app
      .get(DataSource)
      .query('SELECT id FROM author WHERE email = $1', [email]);
    expect(reportOf(first)).toEqual({
      code: 0,
      stderr: '',
      result: `${email} (author ${id}): created as admin`,
    });
    expect(reportOf(second)).toEqual({
      code: 0,
      stderr: '',
      result: `${email} (author ${id}): already admin (nothing changed)`,
    });
    for (const run of [first, second]) {
      expect(run.stdout + run.stderr).not.toContain(password);
    }

    expect(created).toEqual({ accounts: 1, adminRoles: 1 });
    expect(await loginStatus(t, email, other)).toBe(401);
    expect(await profileOf(t, email, password)).toMatchObject({
      email,
      email_verified: true,
      roles: ['admin', 'user'],
    });
    expect(await auditData(t, email, 'role_granted')).toEqual([
      { role: 'admin', by: 'admin_setup' },
    ]);
  });

  it('promotes an existing user and leaves their password alone', async () => {
    const cliPassword = `${existing.password}-from-cli`;
    const run = await withAppStopped(() =>
      runCli(
        ['create-admin', '--email', existing.email.toUpperCase(), '--password', cliPassword],
        env,
      ),
    );
    expect(reportOf(run)).toEqual({
      code: 0,
      stderr: '',
      result: `${existing.email.toUpperCase()} (author ${existing.authorId}): made admin (password unchanged)`,
    });

    expect(await accountRows(t, existing.email)).toEqual({ accounts: 1, adminRoles: 1 });
    expect(await loginStatus(t, existing.email, cliPassword)).toBe(401);
    expect(await profileOf(t, existing.email, existing.password)).toMatchObject({
      id: existing.authorId,
      roles: ['admin', 'user'],
    });
    expect(await auditData(t, existing.email, 'role_granted')).toEqual([
      { role: 'admin', by: 'admin_setup' },
    ]);
  });
});
