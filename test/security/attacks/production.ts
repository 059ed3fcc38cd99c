import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, type RawEnvironment } from '../../../src/config/load-config';
import { newRegistration } from '../../support/auth';
import { freePort } from '../../support/ports';
import { waitFor } from '../../support/wait-for';
import { type Attack, PRODUCTION_ENV, PRODUCTION_METRICS_TOKEN } from '../attack';

// Findings 7, 8 and 10 of the outside review: what a production deployment showed or accepted.
// Each row attacks the production configuration (ctx.production(), or the built server run as an
// operator runs it) and asserts the refusal and that nothing leaked or changed.

const unique = () => randomBytes(4).toString('hex');

/** What the metrics text always holds (prom-client's default process metrics). */
const METRICS_TEXT = /process_cpu_user_seconds_total|nodejs_heap_size_used_bytes/;

/** A token left whole in text: 32 or more base64url characters in a row. */
const RAW_TOKEN = /[\w-]{32,}/;

/** `loadConfig` on the production environment with `changes`; undefined values are removed. */
function productionConfigError(changes: RawEnvironment): { message: string; dataDir: string[] } {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-attack-config-'));
  try {
    const env = Object.fromEntries(
      Object.entries({ ...PRODUCTION_ENV, DATA_DIR: dataDir, ...changes }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    let message: string | undefined;
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    if (message === undefined) throw new Error('the configuration was accepted');
    return { message, dataDir: readdirSync(dataDir) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface BuiltServer {
  base: string;
  /** Every line the process has written to stdout and stderr so far. */
  output: () => string;
  stop: () => Promise<void>;
}

/** The built server (`node dist/src/main.js`) under PRODUCTION_ENV, on embedded Postgres and Redis. */
async function startBuiltServer(env: RawEnvironment): Promise<BuiltServer> {
  const main = join(process.cwd(), 'dist/src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-attack-server-'));
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? '',
      ...PRODUCTION_ENV,
      DATA_DIR: dataDir,
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the server exited: ${output}`);
        return (await fetch(`${base}/health`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 45_000, message: 'the built server to answer /health' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, output: () => output, stop };
}

/** The `req.url` of each request the server has logged (pino-http's JSON lines, complete ones). */
function loggedUrls(output: string): string[] {
  return output
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { req?: { url?: string } })
    .flatMap((entry) => (entry.req?.url ? [entry.req.url] : []));
}

export const attacks: Attack[] = [
  {
    name: 'scrape /metrics in production without the token, with a wrong one, or another scheme',
    status: 'fixed',
    run: async (ctx) => {
      const t = await ctx.production();
      const attempts: [string, Record<string, string>][] = [
        ['/metrics', {}],
        ['/metrics', { Authorization: 'Bearer wrong-token-guessed-by-an-outsider' }],
        ['/metrics', { Authorization: `Bearer ${PRODUCTION_METRICS_TOKEN}x` }],
        [
          '/metrics',
          {
            Authorization: `Basic ${Buffer.from(`x:${PRODUCTION_METRICS_TOKEN}`).toString('base64')}`,
          },
        ],
        [`/metrics?token=${PRODUCTION_METRICS_TOKEN}`, {}],
      ];
      for (const [path, headers] of attempts) {
        const res = await t.http().get(path).set(headers);
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
        expect(res.text).not.toMatch(METRICS_TEXT);
      }
      // The operator's scraper, with the token, still reads them: the refusal is the token's.
      const scraper = await t
        .http()
        .get('/metrics')
        .set('Authorization', `Bearer ${PRODUCTION_METRICS_TOKEN}`);
      expect(scraper.status).toBe(200);
      expect(scraper.text).toMatch(METRICS_TEXT);
    },
  },
  {
    name: 'read the API description (/docs, /docs/json) of a production server',
    status: 'fixed',
    run: async (ctx) => {
      const t = await ctx.production();
      for (const path of [
        '/docs',
        '/docs/',
        '/docs/json',
        '/docs/swagger-ui-init.js',
        '/docs-yaml',
      ]) {
        const res = await t.http().get(path);
        expect([path, res.status]).toEqual([path, 404]);
        expect(res.body).toEqual({
          statusCode: 404,
          message: `Cannot GET ${path}`,
          error: 'Not Found',
        });
      }
      // The routes it would describe are there all the same: only the description is withheld.
      expect((await t.http().get('/health')).status).toBe(200);
    },
  },
  ...['a'.repeat(32), '1234567890'.repeat(4), 'password'.repeat(4)].map((secret): Attack => ({
    name: `start production with the guessable JWT_SECRET ${secret.slice(0, 12)}…`,
    status: 'fixed',
    run: async () => {
      const refused = productionConfigError({ JWT_SECRET: secret });
      expect(refused.message).toBe(
        'Invalid configuration: JWT_SECRET is too easy to guess (repeats, sequences or words) for production; generate one with `openssl rand -base64 48`',
      );
      expect(refused.message).not.toContain(secret.slice(0, 8));
      // Nothing was generated in its place: production never falls back to a stored secret.
      expect(refused.dataDir).toEqual([]);
    },
  })),
  {
    name: 'start production without SMTP_URL, so that mail would go to the log unannounced',
    status: 'fixed',
    run: async () => {
      for (const optIn of [undefined, 'false']) {
        const refused = productionConfigError({ MAIL_ALLOW_LOG_TRANSPORT: optIn });
        expect(refused.message).toBe(
          'Invalid configuration: SMTP_URL is required when NODE_ENV=production (set MAIL_ALLOW_LOG_TRANSPORT=true to write mail to the log instead, tokens redacted)',
        );
        expect(refused.dataDir).toEqual([]);
      }
    },
  },
  {
    name: 'read verification and reset tokens from the production log (log mail transport)',
    status: 'fixed',
    run: async (ctx) => {
      const t = await ctx.production();
      const logged = jest.spyOn(Logger.prototype, 'log');
      try {
        const registration = newRegistration();
        await t
          .http()
          .post('/auth/register')
          .send({ ...registration, mode: 'bearer' })
          .expect(201);
        await t
          .http()
          .post('/auth/password/forgot')
          .send({ email: registration.email })
          .expect(202);
        const mails = () =>
          logged.mock.calls
            .map(([message]) => String(message))
            .filter((message) => message.includes(`to ${registration.email}:`));
        await waitFor(() => mails().length === 2, { message: 'the verification and reset mails' });
        const [verify, reset] = [...mails()].sort();
        expect(verify).toContain('/verify-email?token=[REDACTED]\n');
        expect(reset).toContain('/reset-password?token=[REDACTED]\n');
        for (const mail of mails()) expect(mail).not.toMatch(RAW_TOKEN);
        // Nothing changed for the author: the password still signs in, the email is unverified.
        const signIn = await t
          .http()
          .post('/auth/login')
          .send({ email: registration.email, password: registration.password, mode: 'bearer' })
          .expect(200);
        expect(signIn.body.author.email_verified).toBe(false);
      } finally {
        logged.mockRestore();
      }
    },
  },
  {
    name: 'read a password sent in a request URL from the production request log',
    status: 'fixed',
    run: async () => {
      const secrets = {
        password: `pw-${unique()}-hunter2`,
        client_secret: `cs-${unique()}`,
        api_key: `ak-${unique()}`,
        token: `tk-${unique()}`,
      };
      const query = Object.entries(secrets)
        .map(([name, value]) => `${name}=${value}`)
        .join('&');
      const server = await startBuiltServer({ LOG_LEVEL: 'info' });
      try {
        // A client that puts credentials in the query string: a route that exists, one that does not.
        expect((await fetch(`${server.base}/health?${query}`)).status).toBe(200);
        expect((await fetch(`${server.base}/auth/login?email=a@b.test&${query}`)).status).toBe(404);
        const redacted = Object.keys(secrets)
          .map((name) => `${name}=[REDACTED]`)
          .join('&');
        // The /health probes of the start are logged too: wait for these two by their query.
        await waitFor(
          () => {
            const urls = loggedUrls(server.output());
            return ['/health?', '/auth/login?'].every((path) =>
              urls.some((url) => url.startsWith(path)),
            );
          },
          { message: 'both requests in the log' },
        );
        expect(loggedUrls(server.output())).toEqual(
          expect.arrayContaining([`/health?${redacted}`, `/auth/login?email=a@b.test&${redacted}`]),
        );
        for (const value of Object.values(secrets)) expect(server.output()).not.toContain(value);
      } finally {
        await server.stop();
      }
    },
  },
];
