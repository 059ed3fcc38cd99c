import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Child, freePort, startNode, waitForHttp } from './processes';
import type { BenchServices } from './services';

/** One Tessera server process started by the bench from the built app (`dist/src/main.js`). */
export interface TesseraServer {
  url: string;
  child: Child;
  metricsToken: string;
}

/** One secret per bench run, so that every instance it starts accepts the others' tokens. */
const jwtSecret = randomBytes(48).toString('base64url');
const metricsToken = randomBytes(24).toString('base64url');
/** The bench drives thousands of sign-ins and follows from one IP: limits out of its way. */
const unlimited = '1000000/60';

export async function startTessera(
  services: BenchServices,
  overrides: Record<string, string> = {},
  nodeArgs: string[] = [],
  options: { ownDataDir?: boolean } = {},
): Promise<TesseraServer> {
  const port = await freePort();
  // Instances on a shared Postgres keep only their keys apart; on the embedded one, `ownDataDir`
  // gives an instance a database of its own (PGlite serves one process).
  const dataDir =
    services.databaseUrl || options.ownDataDir
      ? join(services.dataDir, `instance-${port}`)
      : services.dataDir;
  mkdirSync(dataDir, { recursive: true });
  const child = startNode(
    'dist/src/main.js',
    [],
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      REDIS_KEY_PREFIX: services.redisKeyPrefix,
      JWT_SECRET: jwtSecret,
      METRICS_TOKEN: metricsToken,
      MAIL_ALLOW_LOG_TRANSPORT: 'true',
      // The floor logs nothing; request logs would go to a pipe nobody reads.
      LOG_LEVEL: 'warn',
      SESSION_COOKIE_SECURE: 'false',
      SSE_MAX_PER_USER: '50',
      ...Object.fromEntries(
        [
          'LOGIN_IP',
          'LOGIN_EMAIL_IP',
          'LOGIN_EMAIL',
          'REGISTER_IP',
          'FOLLOW_AUTHOR',
          'SHOUT_AUTHOR',
          'TICKET_SESSION',
        ].map((name) => [`RATE_LIMIT_${name}`, unlimited]),
      ),
      ...overrides,
    },
    { nodeArgs },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/health`, child, 120_000);
  return { url, child, metricsToken };
}
