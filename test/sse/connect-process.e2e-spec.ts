import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotifyService } from '../../src/notifications/notify.service';
import { registerAuthor } from '../support/auth';
import {
  closeAllStreams,
  openRawStream,
  type RawStream,
  type StreamAuth,
  type StreamMessage,
} from '../support/sse-client';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { describeWith } from '../support/real-services';
import { freePort } from '../support/ports';

// Issue #6, the standalone connect process (`node dist/src/connect.js`, README: Real-time notifications): the stream
// at `/` and /sse/notifications, tickets, /health and /metrics, its own CORS list, and nothing of
// the app; it shares Postgres and Redis with the app, so the app's sessions and notifications
// reach it. It runs the built code, so `npm run build` must have run (`npm test` builds first).

const CONNECT = join(process.cwd(), 'dist/src/connect.js');
const DATABASE_URL = process.env.DATABASE_URL || undefined;
const REDIS_URL = process.env.REDIS_URL || undefined;

const CONNECT_ORIGIN = 'https://connect-client.example.test';
/** The connect process guards /metrics as the app does (src/metrics/metrics-token.guard.ts). */
const METRICS_TOKEN = randomBytes(16).toString('hex');
/** Allowed on the app, not on the connect process. */
const APP_ORIGIN = 'https://app-client.example.test';

type Child = ChildProcess & { output: () => string; exited: Promise<number | null> };

function runConnect(env: Record<string, string>): Child {
  const child = spawn(process.execPath, [CONNECT], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => output, exited });
}

const isType = (type: string) => (message: StreamMessage) => message.type === type;

async function connect(url: string, auth: StreamAuth): Promise<RawStream> {
  const stream = await openRawStream(url, auth);
  expect(stream.status).toBe(200);
  await stream.untilMessage(isType('connected'), 'the connected frame');
  return stream;
}

describeWith({ DATABASE_URL, REDIS_URL }, 'the connect process', () => {
  // The app and the connect process are one deployment: they share the JWT secret (each would
  // otherwise generate its own in its DATA_DIR, and the app's tokens would not verify here).
  const jwtSecret = randomBytes(32).toString('hex');
  let t: TestApp;
  let child: Child | undefined;
  let dataDir: string | undefined;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(CONNECT)) throw new Error(`${CONNECT} is missing: run \`npm run build\` first`);
    t = await startTestApp({ JWT_SECRET: jwtSecret, CORS_ORIGINS: APP_ORIGIN });
    const port = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-connect-'));
    child = runConnect({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      DATABASE_URL: t.config.database.url!,
      REDIS_URL: REDIS_URL!,
      REDIS_KEY_PREFIX: t.config.redis.keyPrefix,
      JWT_SECRET: jwtSecret,
      CONNECT_PORT: String(port),
      CONNECT_CORS_ORIGINS: CONNECT_ORIGIN,
      // The app's list is in the shared environment too; the connect process must not use it.
      CORS_ORIGINS: APP_ORIGIN,
      RATE_LIMIT_TICKET_SESSION: '10000/60',
      METRICS_TOKEN,
    });
    base = `http://127.0.0.1:${port}`;
    let exitCode: number | null | undefined;
    void child.exited.then((code) => (exitCode = code));
    const health = await waitFor(
      async () => {
        if (exitCode !== undefined) {
          throw new Error(`connect exited ${exitCode}: ${child!.output()}`);
        }
        const res = await fetch(`${base}/health`).catch(() => undefined);
        return res?.status === 200 ? res.json() : undefined;
      },
      { timeoutMs: 30_000, message: 'the connect process to answer /health' },
    );
    expect(health).toEqual({ status: 'ok', db: 'up', redis: 'up' });
  });

  afterEach(closeAllStreams);

  afterAll(async () => {
    closeAllStreams();
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await child.exited;
    }
    await t?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['/', '/sse/notifications'])(
    'serves the stream at %s to a bearer token issued by the app, with the app’s notifications',
    async (path) => {
      const followed = await registerAuthor(t);
      const follower = await registerAuthor(t);
      const stream = await connect(`${base}${path}`, { bearer: followed.token });
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.messages[0]).toEqual({ type: 'connected', user_id: followed.authorId });

      const res = await t
        .http()
        .post('/graphql')
        .set('Authorization', `Bearer ${follower.token}`)
        .send({
          query: 'mutation Follow($authorId: Int!) { follow(authorId: $authorId) }',
          variables: { authorId: followed.authorId },
        });
      expect(res.body).toEqual({ data: { follow: true } });

      const frame = await stream.untilMessage(isType('follower'), 'the follower notification');
      expect(JSON.parse(frame.data!)).toMatchObject({
        type: 'follower',
        action: 'create',
        payload: { follower_id: follower.authorId, following_id: followed.authorId },
      });
      expect(frame.id).toBe(String(JSON.parse(frame.data!).id));
    },
  );

  it('issues tickets on POST /sse/ticket; a ticket opens its stream once', async () => {
    const author = await registerAuthor(t);
    const anonymous = await fetch(`${base}/sse/ticket`, { method: 'POST' });
    expect(anonymous.status).toBe(401);

    const res = await fetch(`${base}/sse/ticket`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${author.token}` },
    });
    expect(res.status).toBe(200);
    const { ticket, expires_in } = (await res.json()) as { ticket: string; expires_in: number };
    expect(expires_in).toBe(30);

    // No other credential: the ticket alone opens the stream.
    const stream = await connect(`${base}/?ticket=${encodeURIComponent(ticket)}`, {});
    expect(stream.messages[0]).toEqual({ type: 'connected', user_id: author.authorId });
    const notice = await t.app
      .get(NotifyService)
      .notify(author.authorId, 'notifications', 'create', 'test', { via: 'ticket' });
    await stream.untilMessage((message) => message.id === Number(notice.id), 'the notification');

    const replayed = await openRawStream(`${base}/?ticket=${encodeURIComponent(ticket)}`);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ statusCode: 401 });
  });

  it('answers its own CORS list: a connect origin gets credentialed CORS, an app-only origin 403', async () => {
    const author = await registerAuthor(t, 'cookie');
    const cookie = { cookie: author.cookie };

    const allowed = await connect(`${base}/`, { ...cookie, headers: { Origin: CONNECT_ORIGIN } });
    expect(allowed.headers['access-control-allow-origin']).toBe(CONNECT_ORIGIN);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    allowed.close();

    // The app itself accepts APP_ORIGIN, so the refusal below is the connect process's own list.
    const onApp = await connect(`${t.baseUrl}/sse/notifications`, {
      ...cookie,
      headers: { Origin: APP_ORIGIN },
    });
    expect(onApp.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    onApp.close();

    for (const path of ['/', '/sse/notifications']) {
      const refused = await openRawStream(`${base}${path}`, {
        ...cookie,
        headers: { Origin: APP_ORIGIN },
      });
      expect(refused.status).toBe(403);
      expect(refused.headers['access-control-allow-origin']).toBeUndefined();
      expect(await refused.json()).toMatchObject({ statusCode: 403 });
    }
  });

  it('does not serve the app: /auth/login, /graphql and /docs are 404', async () => {
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        email: 'someone@example.test',
        password: 'whatever-long',
        mode: 'bearer',
      }),
    });
    expect(login.status).toBe(404);
    const graphql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(graphql.status).toBe(404);
    for (const path of ['/docs', '/docs/json', '/graphql']) {
      expect((await fetch(`${base}${path}`)).status).toBe(404);
    }
  });

  it('refuses GET /metrics without its METRICS_TOKEN', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer not-the-metrics-token' },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${base}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain('tessera_sse_open_streams');
    }
  });

  it('reports its open streams on GET /metrics', async () => {
    const author = await registerAuthor(t);
    const gauge = async () => {
      const res = await fetch(`${base}/metrics`, {
        headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(res.status).toBe(200);
      const line = /^tessera_sse_open_streams (\d+)$/m.exec(await res.text());
      expect(line).not.toBeNull();
      return Number(line![1]);
    };
    // Streams of earlier tests may still be closing on the server: wait for them to go.
    await waitFor(async () => (await gauge()) === 0, { message: 'no stream open' });
    const stream = await connect(`${base}/`, { bearer: author.token });
    expect(await gauge()).toBe(1);
    stream.close();
    await waitFor(async () => (await gauge()) === 0, { message: 'the gauge back at 0' });
  });

  // Last: it stops the process.
  it('on SIGTERM tells every open stream to reconnect, then exits 0', async () => {
    const author = await registerAuthor(t);
    const streams = [
      await connect(`${base}/`, { bearer: author.token }),
      await connect(`${base}/sse/notifications`, { bearer: author.token }),
    ];
    child!.kill('SIGTERM');
    for (const stream of streams) {
      await stream.untilEnded('the stream to end at shutdown', 10_000);
      expect(stream.messages.slice(1)).toEqual([{ type: 'reconnect' }]);
    }
    const code = await Promise.race([
      child!.exited,
      new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('still running after 10 s'), 10_000);
        void child!.exited.then(() => clearTimeout(timer));
      }),
    ]);
    expect(code).toBe(0);
  }, 30_000);
});
