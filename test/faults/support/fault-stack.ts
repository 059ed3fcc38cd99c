import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRegistration } from '../../support/auth';
import { closeAllStreams, openRawStream, type RawStream } from '../../support/sse-client';
import { waitFor } from '../../support/wait-for';
import { PostgresCluster } from './postgres-cluster';
import { RedisServer } from './redis-server';
import { TesseraProcess } from './tessera-process';

/** A signed-in author of a fault row: bearer mode, so that each request says who it is. */
export interface FaultAuthor {
  id: number;
  email: string;
  password: string;
  token: string;
}

/**
 * The services of one fault row: its own Postgres cluster and Redis server, and the Tessera
 * processes started on them. `close()` stops and removes all of it.
 */
export class FaultStack {
  private readonly apps: TesseraProcess[] = [];
  private readonly dataDir = mkdtempSync(join(tmpdir(), 'tessera-faults-app-'));

  private constructor(
    readonly postgres: PostgresCluster,
    readonly redis: RedisServer,
  ) {}

  static async start(): Promise<FaultStack> {
    const [postgres, redis] = await Promise.all([PostgresCluster.create(), RedisServer.start()]);
    return new FaultStack(postgres, redis);
  }

  /** Env every instance of the row shares: its services and one JWT secret. */
  readonly jwtSecret = `faults-${Math.random().toString(36).slice(2)}-${Date.now()}-shared-secret`;

  async startApp(
    env: Record<string, string> = {},
    nodeFlags: string[] = [],
  ): Promise<TesseraProcess> {
    const app = await TesseraProcess.start(
      {
        DATABASE_URL: this.postgres.url,
        REDIS_URL: this.redis.url,
        JWT_SECRET: this.jwtSecret,
        DATA_DIR: this.dataDir,
        ...env,
      },
      nodeFlags,
    );
    this.apps.push(app);
    return app;
  }

  async close(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.stop()));
    await Promise.all([this.postgres.close(), this.redis.close()]);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * The services of a fault row and one server on them, started before the row's tests and, after
 * them, removed (its streams closed first). Read `stack` and `app` inside the tests.
 */
export function useFaultStack(
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
): { stack: FaultStack; app: TesseraProcess } {
  const row = {} as { stack: FaultStack; app: TesseraProcess };
  beforeAll(async () => {
    row.stack = await FaultStack.start();
    row.app = await row.stack.startApp(env, nodeFlags);
  });
  afterAll(async () => {
    closeAllStreams();
    await row.stack?.close();
  });
  return row;
}

/** GET /auth/profile as `author`: a route that needs both Redis and Postgres. */
export function fetchProfile(app: TesseraProcess, author: FaultAuthor): Promise<Response> {
  return fetch(`${app.url}/auth/profile`, {
    headers: { Authorization: `Bearer ${author.token}` },
  });
}

/** Waits for GET /auth/profile to answer 200 again; returns the ms since `since`. */
export async function untilRecovered(
  app: TesseraProcess,
  author: FaultAuthor,
  since: number,
): Promise<number> {
  await waitFor(async () => (await fetchProfile(app, author)).status === 200, {
    timeoutMs: 15_000,
    intervalMs: 50,
    message: 'GET /auth/profile to answer 200 again',
  });
  return Date.now() - since;
}

/** Registers `count` authors, a few at a time. */
export async function registerAuthors(app: TesseraProcess, count: number): Promise<FaultAuthor[]> {
  const authors: FaultAuthor[] = [];
  const one = async () => {
    const registration = newRegistration();
    const res = await fetch(`${app.url}/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...registration, mode: 'bearer' }),
    });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { author: { id: number }; token: string };
    authors.push({ ...registration, id: body.author.id, token: body.token });
  };
  for (let i = 0; i < count; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, count - i) }, one));
  }
  return authors;
}

/** Opens `perAuthor` streams for each author and waits until every one said `connected`. */
export async function openStreams(
  app: TesseraProcess,
  authors: FaultAuthor[],
  perAuthor: number,
): Promise<{ author: FaultAuthor; stream: RawStream }[]> {
  const opened: { author: FaultAuthor; stream: RawStream }[] = [];
  for (const author of authors) {
    const batch = await Promise.all(
      Array.from({ length: perAuthor }, () =>
        openRawStream(`${app.url}/sse/notifications`, { bearer: author.token }),
      ),
    );
    for (const stream of batch) {
      if (stream.status !== 200) throw new Error(`stream: ${stream.status}`);
      opened.push({ author, stream });
    }
  }
  await Promise.all(
    opened.map(({ stream }) =>
      stream.untilMessage((message) => message.type === 'connected', 'connected', 30_000),
    ),
  );
  return opened;
}

/** `follower` follows `followed` over GraphQL, which stores a notification for `followed`. */
export async function follow(
  app: TesseraProcess,
  follower: FaultAuthor,
  followed: FaultAuthor,
): Promise<void> {
  const res = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${follower.token}` },
    body: JSON.stringify({
      query: 'mutation Follow($authorId: Int!) { follow(authorId: $authorId) }',
      variables: { authorId: followed.id },
    }),
  });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(`follow: ${JSON.stringify(body.errors)}`);
}

/**
 * Sends requests in the background until stopped, and counts their outcomes by route and status;
 * a request that gets no HTTP answer at all (connection refused or reset: a crashed server)
 * counts as status 0.
 */
export class RequestFlow {
  readonly outcomes = new Map<string, number>();
  private readonly slowestByStatus = new Map<number, number>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(requests: { name: string; send: () => Promise<Response> }[], intervalMs: number) {
    this.done = (async () => {
      // Paced against the clock, not the timer: a late tick sends what is due, so the rate holds.
      const startedAt = performance.now();
      let sent = 0;
      while (this.running) {
        const due = Math.floor((performance.now() - startedAt) / intervalMs) + 1;
        for (; sent < due; sent++) {
          const { name, send } = requests[sent % requests.length];
          const sentAt = performance.now();
          void send().then(
            async (res) => {
              await res.arrayBuffer().catch(() => undefined);
              this.count(`${name} ${res.status}`, performance.now() - sentAt);
            },
            () => this.count(`${name} 0`, performance.now() - sentAt),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
  }

  /** How many answers had this status, over every route or one. */
  total(status: number, route?: string): number {
    let sum = 0;
    for (const [key, count] of this.outcomes) {
      const [name, code] = key.split(' ');
      if (Number(code) === status && (route === undefined || name === route)) sum += count;
    }
    return sum;
  }

  /** Answers with a 5xx other than 503 (which is the expected answer while a service is down). */
  serverErrors(): number {
    let sum = 0;
    for (const [key, count] of this.outcomes) {
      const status = Number(key.split(' ')[1]);
      if (status >= 500 && status !== 503) sum += count;
    }
    return sum;
  }

  /** Statuses seen, as `route status: count`, for the row's report. */
  summary(): Record<string, number> {
    return Object.fromEntries([...this.outcomes].sort(([a], [b]) => a.localeCompare(b)));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** The slowest answer with this status, in ms. */
  slowest(status: number): number {
    return Math.round(this.slowestByStatus.get(status) ?? 0);
  }

  private count(key: string, ms: number): void {
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + 1);
    const status = Number(key.split(' ')[1]);
    this.slowestByStatus.set(status, Math.max(ms, this.slowestByStatus.get(status) ?? 0));
  }
}

/** The stored ids a stream delivered, in order (the other events carry the stream's position). */
export function deliveredIds(stream: RawStream): number[] {
  return stream.messages
    .filter((message) => typeof message.id === 'number' && message.type !== 'connected')
    .map((message) => message.id as number);
}

/** A fault's duration: the scenario holds the fault this long (nothing is being waited for). */
export function holdFault(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
