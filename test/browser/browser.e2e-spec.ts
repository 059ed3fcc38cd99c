import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page, Request, Response } from 'playwright-core';
import { DataSource } from 'typeorm';
import { REDIS_STORE, type RedisStore } from '../../src/infra/redis/redis-store';
import { registerAuthor, type SignedIn } from '../support/auth';
import {
  describeInChromium,
  launchChromium,
  recordStream,
  saveScreenshot,
  startPageServer,
  startProxy,
  STREAM_PATH,
  submitSignIn,
  type Origin,
  type Proxy,
  type StreamLog,
} from '../support/browser';
import { SERVICES, startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

// Issue #7: the httpOnly cookie and the cross-origin stream, in real Chromium. The demo page is
// served from origin A (a static server of its own) and calls the API on origin B (the app), with
// CORS_ORIGINS=A. Both are 127.0.0.1 on different ports: the same site, so the SameSite=Lax cookie
// travels between them, but different origins, so every call is a CORS one. Origin C, another
// static server outside CORS_ORIGINS, plays the attacker's page in the same browser.
//
// The stream runs over both transports of web/src/tessera-stream.ts: SSE, and WebSocket (the
// `graphql-transport-ws` protocol on /graphql, which the demo uses with `?transport=websocket`).

const SCREENSHOT = resolve('test-output/browser-notification.png');
const SOCKET_SCREENSHOT = resolve('test-output/browser-notification-websocket.png');
const FOLLOW = 'mutation Follow($authorId: Int!) { follow(authorId: $authorId) }';
/** Waits on the page: generous next to what is measured, short next to the suite's budget. */
const UI_TIMEOUT_MS = 5_000;
/** An idle restart takes about a second; the rest is headroom for a loaded machine. */
const RESTART_DEADLINE_MS = 10_000;

type Transport = 'sse' | 'websocket';
const TRANSPORTS: Transport[] = ['sse', 'websocket'];
/** Where the WebSocket transport connects, whatever the origin. */
const SOCKET_PATH = '/graphql';
const TICKET_PATH = '/sse/ticket';
/** What SSE says with a message of its own, the WebSocket transport says with a close. */
const CLOSE_CODES = { session_revoked: 4401, reconnect: 4000 } as const;
type Signal = keyof typeof CLOSE_CODES;

interface SocketClose {
  code: number;
  reason: string;
}

/** The part of web/src/tessera-stream.ts that tests drive in the page. */
interface StreamModule {
  TesseraStream: new (options: {
    url: string;
    transport: Transport;
    auth?: 'cookie' | 'ticket';
    onNotification?: (notification: object) => void;
    onStatus?: (status: string) => void;
  }) => { start(): void; stop(): void };
}

/**
 * The browser globals the functions run in the page use. Tests compile without the DOM library, and
 * a function handed to page.evaluate runs in the page, so each one casts `globalThis` itself.
 */
interface InPage {
  document: {
    cookie: string;
    getElementById(id: string): { dataset: Record<string, string | undefined> };
  };
  localStorage: object;
  sessionStorage: object;
  MutationObserver: new (callback: () => void) => {
    observe(target: object, options: { attributeFilter: string[] }): void;
  };
  statuses: string[];
  WebSocket: new (
    url: string,
    protocol?: string,
  ) => {
    addEventListener(type: 'close', listener: (event: SocketClose) => void): void;
  };
  socketCloses: SocketClose[];
  received: Record<Transport, object[]>;
}

/** Follows `authorId` as `follower` over the API, the way another user's app would. */
async function follow(t: TestApp, follower: SignedIn, authorId: number): Promise<void> {
  const res = await t
    .http()
    .post('/graphql')
    .set('Authorization', `Bearer ${follower.token}`)
    .send({ query: FOLLOW, variables: { authorId } })
    .expect(200);
  expect(res.body).toEqual({ data: { follow: true } });
}

interface Served {
  path: string;
  origin?: string;
  cookie?: string;
  status: number;
  contentType?: string;
  allowOrigin?: string;
}

/**
 * What the app's HTTP server receives and answers until `stop()`: a listener next to Express's,
 * for what the browser does not report (the headers and status of a request CORS blocked).
 */
function recordServed(t: TestApp): { served: Served[]; stop(): void } {
  const served: Served[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) =>
    res.on('finish', () =>
      served.push({
        path: new URL(req.url ?? '/', t.baseUrl).pathname,
        origin: req.headers.origin,
        cookie: req.headers.cookie,
        status: res.statusCode,
        contentType: res.getHeader('content-type') as string | undefined,
        allowOrigin: res.getHeader('access-control-allow-origin') as string | undefined,
      }),
    );
  const server = t.app.getHttpServer();
  server.on('request', listener);
  return { served, stop: () => server.off('request', listener) };
}

interface Upgrade {
  path: string;
  origin?: string;
  cookie?: string;
  protocol?: string;
}

/**
 * The WebSocket upgrades the app's HTTP server receives until `stop()`: DevTools reports a
 * cross-origin handshake without the Cookie header the network stack adds, so the server says.
 */
function recordUpgrades(t: TestApp): { upgrades: Upgrade[]; stop(): void } {
  const upgrades: Upgrade[] = [];
  const listener = (req: IncomingMessage) =>
    upgrades.push({
      path: new URL(req.url ?? '/', t.baseUrl).pathname,
      origin: req.headers.origin,
      cookie: req.headers.cookie,
      protocol: req.headers['sec-websocket-protocol'],
    });
  const server = t.app.getHttpServer();
  server.on('upgrade', listener);
  return { upgrades, stop: () => server.off('upgrade', listener) };
}

/**
 * `follower` follows `user`, whose page shows the notification within 2 s, with the id of the
 * row stored for it; returns that row.
 */
async function followShownWithin2s(
  t: TestApp,
  page: Page,
  follower: SignedIn,
  user: SignedIn,
): Promise<{ id: string }> {
  const started = Date.now();
  await follow(t, follower, user.authorId);
  const item = await page.waitForSelector('#notifications li[data-type=follower]', {
    timeout: 2_000,
  });
  expect(Date.now() - started).toBeLessThan(2_000);
  const [row] = await followerRows(t, user.authorId);
  expect(await item.getAttribute('data-id')).toBe(String(row.id));
  expect(await item.textContent()).toContain(`${follower.body.author.name} started following you`);
  return row;
}

/** The follower notifications stored for a user, newest last. */
async function followerRows(t: TestApp, userId: number): Promise<Array<{ id: string }>> {
  return t.app
    .get(DataSource)
    .query(
      `SELECT id FROM notification WHERE recipient_id = $1 AND type = 'follower' ORDER BY id`,
      [userId],
    );
}

/** A page's stream traffic over either transport, and whether the server said `signal` on it. */
interface TransportLog extends StreamLog {
  told(signal: Signal): Promise<boolean>;
}

/** One WebSocket connection of a page, as the browser's network layer reports it. */
interface SocketRecord {
  url: string;
  /** Header names in lower case. */
  requestHeaders: Record<string, string>;
  status?: number;
  responseHeaders: Record<string, string>;
  /** Why the connection failed, as the browser says (`… Unexpected response code: 403`). */
  failure?: string;
  /** The text frames the page sent. */
  sent: string[];
}

/** A page's WebSocket traffic to /graphql: `requests` are connections, `messages` received frames. */
interface SocketLog extends TransportLog {
  sockets: SocketRecord[];
  /** How the page's sockets closed, in order, as WebSocket told the page. */
  closes(): Promise<SocketClose[]>;
}

const lowerCased = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

/**
 * Starts recording a page's WebSocket traffic to /graphql; call before the page loads. Handshakes
 * and frames come from the DevTools protocol, like recordStream's; the protocol does not report a
 * close frame, so an init script notes each socket's close event (code and reason) in the page.
 */
async function recordSocket(page: Page): Promise<SocketLog> {
  await page.addInitScript(() => {
    const window = globalThis as unknown as InPage;
    const closes: SocketClose[] = (window.socketCloses = []);
    window.WebSocket = class extends window.WebSocket {
      constructor(url: string, protocol?: string) {
        super(url, protocol);
        this.addEventListener('close', ({ code, reason }) => closes.push({ code, reason }));
      }
    };
  });
  const byId = new Map<string, SocketRecord>();
  const log: SocketLog = {
    requests: [],
    messages: [],
    sockets: [],
    parsed: () => log.messages.map((data) => JSON.parse(data) as { type?: string }),
    closes: () => page.evaluate(() => (globalThis as unknown as InPage).socketCloses),
    told: async (signal) =>
      (await log.closes()).some(
        (close) => close.code === CLOSE_CODES[signal] && close.reason === signal,
      ),
  };
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.webSocketCreated', ({ requestId, url }) => {
    if (new URL(url).pathname !== SOCKET_PATH) return;
    const socket: SocketRecord = { url, requestHeaders: {}, responseHeaders: {}, sent: [] };
    byId.set(requestId, socket);
    log.sockets.push(socket);
    log.requests.push(url);
  });
  cdp.on('Network.webSocketWillSendHandshakeRequest', ({ requestId, request }) => {
    const socket = byId.get(requestId);
    if (socket) socket.requestHeaders = lowerCased(request.headers as Record<string, string>);
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ requestId, response }) => {
    const socket = byId.get(requestId);
    if (!socket) return;
    socket.status = response.status;
    socket.responseHeaders = lowerCased(response.headers as Record<string, string>);
  });
  cdp.on('Network.webSocketFrameError', ({ requestId, errorMessage }) => {
    const socket = byId.get(requestId);
    if (socket) socket.failure = errorMessage;
  });
  cdp.on('Network.webSocketFrameSent', ({ requestId, response }) => {
    if (response.opcode === 1) byId.get(requestId)?.sent.push(response.payloadData);
  });
  cdp.on('Network.webSocketFrameReceived', ({ requestId, response }) => {
    if (byId.has(requestId) && response.opcode === 1) log.messages.push(response.payloadData);
  });
  await cdp.send('Network.enable');
  return log;
}

/** Starts recording a page's stream traffic over `transport`; call before the page loads. */
async function record(page: Page, transport: Transport): Promise<TransportLog> {
  if (transport === 'websocket') return recordSocket(page);
  const log = await recordStream(page);
  return Object.assign(log, {
    told: async (signal: Signal) => log.parsed().some((message) => message.type === signal),
  });
}

/** The demo on `origin`, against the API on `api`, over `transport` (SSE, its default, by itself). */
function demoUrl(origin: string, api: string, transport: Transport = 'sse'): string {
  const url = `${origin}/?api=${encodeURIComponent(api)}`;
  return transport === 'sse' ? url : `${url}&transport=${transport}`;
}

const parse = (frame: string) => JSON.parse(frame) as unknown;

describeInChromium('Browser: httpOnly cookie and the cross-origin stream (issue #7)', () => {
  let browser: Browser;
  let pages: Origin;
  let foreign: Origin;
  let t: TestApp;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [pages, foreign, browser] = await Promise.all([
      startPageServer(),
      startPageServer(),
      launchChromium(),
    ]);
    t = await startTestApp({ CORS_ORIGINS: pages.origin });
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([t?.close(), pages?.close(), foreign?.close()]);
  });

  async function newContext(): Promise<BrowserContext> {
    const context = await browser.newContext();
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    contexts.push(context);
    return context;
  }

  /** Opens the demo from `origin` against the API on `api`, recording its stream traffic. */
  async function openDemo(
    context: BrowserContext,
    origin: string,
    api = t.baseUrl,
    transport: Transport = 'sse',
  ): Promise<{ page: Page; log: TransportLog }> {
    const page = await context.newPage();
    const log = await record(page, transport);
    await page.goto(demoUrl(origin, api, transport));
    return { page, log };
  }

  /** Signs in through the form and waits for the stream to be open. */
  async function signInOnA(context: BrowserContext, user: SignedIn, transport: Transport = 'sse') {
    const demo = await openDemo(context, pages.origin, t.baseUrl, transport);
    await submitSignIn(demo.page, user.email, user.password);
    await demo.page.waitForSelector('#status[data-status=open]');
    return demo;
  }

  async function sessionCookieIn(context: BrowserContext) {
    return (await context.cookies(t.baseUrl)).find(
      (cookie) => cookie.name === t.config.cookie.name,
    );
  }

  it('signing in through the form sets the session cookie httpOnly and SameSite=Lax, out of reach of page scripts', async () => {
    const user = await registerAuthor(t);
    const context = await newContext();
    const { page } = await openDemo(context, pages.origin);

    await submitSignIn(page, user.email, user.password);
    await page.waitForSelector('#app:not([hidden])');

    expect(await page.textContent('#who')).toContain(`(#${user.authorId})`);
    const cookie = await sessionCookieIn(context);
    expect(cookie).toMatchObject({ domain: '127.0.0.1', httpOnly: true, sameSite: 'Lax' });
    expect(cookie!.value.length).toBeGreaterThan(20);
    // Cookies are not scoped by port, so without httpOnly origin A's scripts would see it.
    const visibleToScripts = await page.evaluate(() => {
      const { document, localStorage, sessionStorage } = globalThis as unknown as InPage;
      return JSON.stringify([document.cookie, { ...localStorage }, { ...sessionStorage }]);
    });
    expect(visibleToScripts).not.toContain(t.config.cookie.name);
    expect(visibleToScripts).not.toContain(cookie!.value);
  });

  it('a page on an origin outside CORS_ORIGINS cannot sign in: the browser blocks the call and no cookie is set', async () => {
    const user = await registerAuthor(t);
    const context = await newContext();
    const { page } = await openDemo(context, foreign.origin);

    await submitSignIn(page, user.email, user.password);
    await waitFor(async () => (await page.textContent('#sign-in-error'))?.trim(), {
      message: 'a sign-in error on the page',
    });

    expect(await page.textContent('#sign-in-error')).toBe(
      'The API cannot be reached from this page',
    );
    expect(await page.isHidden('#app')).toBe(true);
    expect(await sessionCookieIn(context)).toBeUndefined();
    // The preflight was refused, so the credentials never reached the service: still one session.
    const sessions = await t
      .http()
      .get('/auth/sessions')
      .set('Authorization', `Bearer ${user.token}`)
      .expect(200);
    expect(sessions.body).toHaveLength(1);
  });

  describe('over SSE', () => {
    it('the stream opens cross-origin with the cookie, and a follow shows up in under 2 s (screenshot)', async () => {
      const [user, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
      const context = await newContext();
      const page = await context.newPage();
      const log = await recordStream(page);
      const streamResponse = page.waitForResponse(
        (response) =>
          new URL(response.url()).pathname === STREAM_PATH &&
          response.request().resourceType() === 'eventsource',
      );
      await page.goto(`${pages.origin}/?api=${encodeURIComponent(t.baseUrl)}`);
      await submitSignIn(page, user.email, user.password);
      await page.waitForSelector('#status[data-status=open]');

      const response: Response = await streamResponse;
      expect(response.status()).toBe(200);
      expect(await response.headerValue('content-type')).toMatch(/^text\/event-stream/);
      expect(await response.headerValue('access-control-allow-origin')).toBe(pages.origin);
      expect(await response.headerValue('access-control-allow-credentials')).toBe('true');
      const cookie = await sessionCookieIn(context);
      expect(await response.request().headerValue('cookie')).toContain(
        `${cookie!.name}=${cookie!.value}`,
      );
      await waitFor(() => log.parsed().some((message) => message.type === 'connected'), {
        message: 'connected on the stream',
      });
      expect(log.parsed()[0]).toEqual({ type: 'connected', user_id: user.authorId });

      await followShownWithin2s(t, page, follower, user);

      await saveScreenshot(page, SCREENSHOT);
    });

    it('a page on a foreign origin, in a browser signed in on origin A, can neither read the API nor open the stream', async () => {
      const user = await registerAuthor(t);
      const context = await newContext();
      await signInOnA(context, user);
      const cookie = await sessionCookieIn(context);
      expect(cookie).toBeDefined();

      const { served, stop } = recordServed(t);
      const { page, log } = await openDemo(context, foreign.origin);
      const streamRequest = page.waitForRequest(
        (request: Request) =>
          new URL(request.url()).pathname === STREAM_PATH &&
          request.resourceType() === 'eventsource',
      );
      // Its profile call at load is blocked too, so the demo stays on the sign-in form.
      const profile = await page.evaluate(async (api) => {
        try {
          const response = await fetch(`${api}/auth/profile`, { credentials: 'include' });
          return `read ${response.status}: ${await response.text()}`;
        } catch (error) {
          return `blocked: ${(error as Error).name}`;
        }
      }, t.baseUrl);
      expect(profile).toBe('blocked: TypeError');
      expect(await page.isHidden('#app')).toBe(true);

      const outcome = await page.evaluate(
        (url) =>
          new Promise<{ errored: boolean; opened: boolean; readyState: number; data: string[] }>(
            (done) => {
              const source = new EventSource(url, { withCredentials: true });
              const seen = { errored: false, opened: false, data: [] as string[] };
              source.onopen = () => (seen.opened = true);
              source.onmessage = (event) => seen.data.push(event.data as string);
              const finish = () => {
                const readyState = source.readyState;
                source.close();
                done({ ...seen, readyState });
              };
              source.onerror = () => {
                seen.errored = true;
                finish();
              };
              // A stream that neither fails nor speaks in this time would be a failure of its own.
              setTimeout(finish, 4_000);
            },
          ),
        `${t.baseUrl}${STREAM_PATH}`,
      );

      expect(outcome).toEqual({ errored: true, opened: false, readyState: 2, data: [] });
      expect(log.messages).toEqual([]);
      // The browser reports only that these failed, so the server says what it got: the cookie went
      // along (same site); the stream is refused by the origin rule (403), and no answer to origin C
      // carries CORS headers, so the browser lets the page read none of them.
      const streamAttempt = await streamRequest;
      expect(await streamAttempt.response()).toBeNull();
      expect(streamAttempt.failure()?.errorText).toBe('net::ERR_FAILED');
      stop();
      const fromForeign = served.filter((request) => request.origin === foreign.origin);
      expect(fromForeign.filter((request) => request.path === STREAM_PATH)).toEqual([
        {
          path: STREAM_PATH,
          origin: foreign.origin,
          cookie: expect.stringContaining(`${cookie!.name}=${cookie!.value}`),
          status: 403,
          contentType: expect.stringMatching(/^application\/json/),
          allowOrigin: undefined,
        },
      ]);
      expect(fromForeign.map((request) => request.path)).toContain('/auth/profile');
      expect(fromForeign.filter((request) => request.allowOrigin !== undefined)).toEqual([]);
    });
  });

  describe('over WebSocket', () => {
    /** The demo over WebSocket from `origin`, its socket traffic recorded. */
    async function openSocketDemo(context: BrowserContext, origin: string) {
      const page = await context.newPage();
      const log = await recordSocket(page);
      await page.goto(demoUrl(origin, t.baseUrl, 'websocket'));
      return { page, log };
    }

    it('the socket opens cross-origin with the cookie, and a follow shows up in under 2 s (screenshot)', async () => {
      const [user, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
      const context = await newContext();
      const { upgrades, stop } = recordUpgrades(t);
      const { page, log } = await openSocketDemo(context, pages.origin);
      await submitSignIn(page, user.email, user.password);
      await page.waitForSelector('#status[data-status=open]');
      stop();

      // One connection, authenticated by the cookie it carried: no credential in the URL.
      expect(log.sockets).toHaveLength(1);
      const [socket] = log.sockets;
      expect(socket.url).toBe(`ws://${new URL(t.baseUrl).host}${SOCKET_PATH}`);
      expect(socket.status).toBe(101);
      expect(socket.responseHeaders['sec-websocket-protocol']).toBe('graphql-transport-ws');
      expect(socket.requestHeaders).toMatchObject({
        origin: pages.origin,
        'sec-websocket-protocol': 'graphql-transport-ws',
      });
      const cookie = await sessionCookieIn(context);
      expect(upgrades).toEqual([
        {
          path: SOCKET_PATH,
          origin: pages.origin,
          cookie: expect.stringContaining(`${cookie!.name}=${cookie!.value}`),
          protocol: 'graphql-transport-ws',
        },
      ]);
      await waitFor(() => socket.sent.length === 2, { message: 'connection_init and subscribe' });
      const [init, subscribe] = socket.sent.map(parse);
      expect(init).toEqual({ type: 'connection_init', payload: {} });
      expect(subscribe).toEqual({
        id: expect.any(String),
        type: 'subscribe',
        payload: {
          query: expect.stringContaining('notifications(after: $after)'),
          variables: { after: null },
        },
      });
      expect(log.parsed()[0]).toMatchObject({ type: 'connection_ack' });

      const row = await followShownWithin2s(t, page, follower, user);
      // As the server sends it: the id a string, the payload JSON text.
      expect(log.parsed().filter((message) => message.type === 'next')).toEqual([
        {
          id: (subscribe as { id: string }).id,
          type: 'next',
          payload: {
            data: {
              notifications: {
                id: String(row.id),
                type: 'follower',
                action: 'create',
                entity: 'follower',
                payload: expect.any(String),
                createdAt: expect.any(Number),
              },
            },
          },
        },
      ]);

      await saveScreenshot(page, SOCKET_SCREENSHOT);
    });

    it("with auth: 'ticket', the client connects with a fresh one-time ticket, and hands on a notification as it does over SSE", async () => {
      const [user, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
      const context = await newContext();
      // The demo signs in (over SSE); the module then runs in its page, with the cookie set.
      const page = await context.newPage();
      const log = await recordSocket(page);
      const ticketRequests: string[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).pathname === TICKET_PATH) ticketRequests.push(request.method());
      });
      await page.goto(demoUrl(pages.origin, t.baseUrl));
      await submitSignIn(page, user.email, user.password);
      await page.waitForSelector('#status[data-status=open]');

      const statuses = await page.evaluate(
        async ({ module, api }) => {
          const { TesseraStream } = (await import(module)) as StreamModule;
          const received: InPage['received'] = { sse: [], websocket: [] };
          (globalThis as unknown as InPage).received = received;
          const open = (transport: Transport, url: string) =>
            new Promise<string>((done) =>
              new TesseraStream({
                transport,
                url,
                auth: transport === 'websocket' ? 'ticket' : undefined,
                onNotification: (notification) => received[transport].push(notification),
                onStatus: (status) => {
                  if (status !== 'connecting') done(status);
                },
              }).start(),
            );
          return Promise.all([
            open('sse', `${api}/sse/notifications`),
            open('websocket', `${api}/graphql`),
          ]);
        },
        { module: `${pages.origin}/tessera-stream.js`, api: t.baseUrl },
      );

      expect(statuses).toEqual(['open', 'open']);
      expect(ticketRequests).toEqual(['POST']);
      expect(log.sockets).toHaveLength(1);
      expect(new URL(log.sockets[0].url).search).toBe('');
      expect(parse(log.sockets[0].sent[0])).toEqual({
        type: 'connection_init',
        payload: { ticket: expect.stringMatching(/^[\w-]{20,}$/) },
      });

      await follow(t, follower, user.authorId);
      const receivedIn = () => page.evaluate(() => (globalThis as unknown as InPage).received);
      await waitFor(
        async () => {
          const { sse, websocket } = await receivedIn();
          return sse.length > 0 && websocket.length > 0;
        },
        { message: 'the notification over both transports' },
      );
      const received = await receivedIn();
      const [row] = await followerRows(t, user.authorId);
      expect(received.websocket).toEqual(received.sse);
      expect(received.websocket).toEqual([
        {
          id: Number(row.id),
          type: 'follower',
          action: 'create',
          entity: 'follower',
          payload: expect.objectContaining({
            follower_id: follower.authorId,
            follower_name: follower.body.author.name,
            following_id: user.authorId,
          }),
          created_at: expect.any(Number),
        },
      ]);
    });

    it("the demo's transport switch moves a running stream to WebSocket, on from the last notification shown", async () => {
      const [user, first, second] = await Promise.all([
        registerAuthor(t),
        registerAuthor(t),
        registerAuthor(t),
      ]);
      const context = await newContext();
      const page = await context.newPage();
      const log = await recordSocket(page);
      await page.goto(demoUrl(pages.origin, t.baseUrl));
      await submitSignIn(page, user.email, user.password);
      await page.waitForSelector('#status[data-status=open]');
      await follow(t, first, user.authorId);
      await page.waitForSelector('#notifications li[data-type=follower]');
      expect(log.sockets).toHaveLength(0);

      await page.selectOption('#transport', 'websocket');
      await page.waitForSelector('#status[data-status=open]');

      expect(new URL(page.url()).searchParams.get('transport')).toBe('websocket');
      expect(log.sockets).toHaveLength(1);
      const [firstRow] = await followerRows(t, user.authorId);
      await waitFor(() => log.sockets[0].sent.length === 2, { message: 'the subscribe message' });
      expect(parse(log.sockets[0].sent[1])).toMatchObject({
        type: 'subscribe',
        payload: { variables: { after: String(firstRow.id) } },
      });
      await follow(t, second, user.authorId);
      await waitFor(async () => (await page.$$('#notifications li')).length === 2, {
        message: 'the second notification on the page',
      });
      const rows = await followerRows(t, user.authorId);
      const shown = await Promise.all(
        (await page.$$('#notifications li')).map((item) => item.getAttribute('data-id')),
      );
      expect(shown).toEqual(rows.map((row) => String(row.id)).reverse());
    });

    it('a page on a foreign origin, in a browser signed in on origin A, cannot open the socket: the upgrade is refused', async () => {
      const user = await registerAuthor(t);
      const context = await newContext();
      await signInOnA(context, user);
      const cookie = await sessionCookieIn(context);
      expect(cookie).toBeDefined();

      const { upgrades, stop } = recordUpgrades(t);
      const { page, log } = await openSocketDemo(context, foreign.origin);
      const statuses = await page.evaluate(
        async ({ module, url }) => {
          const { TesseraStream } = (await import(module)) as StreamModule;
          return new Promise<string[]>((done) => {
            const seen: string[] = [];
            let finished = false;
            // The first status after `connecting` says what the client made of the attempt.
            const finish = () => {
              if (finished) return;
              finished = true;
              clearTimeout(deadline);
              done([...seen]);
              stream.stop();
            };
            const stream = new TesseraStream({
              transport: 'websocket',
              url,
              onStatus: (status) => {
                seen.push(status);
                if (status !== 'connecting') setTimeout(finish);
              },
            });
            // A socket that neither fails nor answers in this time would be a failure of its own.
            const deadline = setTimeout(finish, 4_000);
            stream.start();
          });
        },
        { module: `${foreign.origin}/tessera-stream.js`, url: `${t.baseUrl}${SOCKET_PATH}` },
      );
      stop();

      // WebSocket has no CORS: the cookie went along (same site), and the Origin rule refused the
      // upgrade with 403 before a socket existed. The page sees only a failed connection (1006),
      // which the client cannot tell from a network failure: it backs off, as for one.
      expect(upgrades).toEqual([
        {
          path: SOCKET_PATH,
          origin: foreign.origin,
          cookie: expect.stringContaining(`${cookie!.name}=${cookie!.value}`),
          protocol: 'graphql-transport-ws',
        },
      ]);
      expect(log.sockets).toHaveLength(1);
      expect(log.sockets[0].status).toBeUndefined();
      expect(log.sockets[0].failure).toMatch(/Unexpected response code: 403$/);
      expect(await log.closes()).toEqual([{ code: 1006, reason: '' }]);
      expect(log.messages).toEqual([]);
      expect(statuses).toEqual(['connecting', 'reconnecting']);
      expect(await page.isHidden('#app')).toBe(true);
    });
  });

  describe.each(TRANSPORTS)('the stream over %s', (transport) => {
    it('signing out: the stream hears session_revoked, the page shows the sign-in form and never reconnects', async () => {
      const [user, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
      const context = await newContext();
      const { page, log } = await signInOnA(context, user, transport);
      expect(log.requests).toHaveLength(1);

      await page.click('#sign-out');
      await page.waitForSelector('#sign-in:not([hidden])');

      await waitFor(() => log.told('session_revoked'), {
        message: 'session_revoked on the stream',
      });
      expect(await page.getAttribute('#status', 'data-status')).toBe('signed-out');
      expect(await page.isHidden('#app')).toBe(true);
      expect(await sessionCookieIn(context)).toBeUndefined();
      // The server has let go of the stream: a client that reconnected on the close would do so now.
      const store = t.app.get<RedisStore>(REDIS_STORE);
      await waitFor(
        async () => (await store.smembers(`sse_user_streams:${user.authorId}`)).length === 0,
        {
          message: 'the server to close the stream',
        },
      );
      const requestsAfterSignOut = log.requests.length;
      const messagesAfterSignOut = log.messages.length;

      // Something the stream would deliver, stored (so published) before looking again.
      await follow(t, follower, user.authorId);
      await waitFor(async () => (await followerRows(t, user.authorId)).length === 1, {
        message: 'the follow notification stored',
      });
      await page.evaluate((api) => fetch(`${api}/health`).then((r) => r.status), t.baseUrl);

      expect(log.requests).toHaveLength(requestsAfterSignOut);
      expect(log.requests).toHaveLength(1);
      expect(log.messages).toHaveLength(messagesAfterSignOut);
      expect(await page.$$('#notifications li')).toHaveLength(0);
      expect(await page.isVisible('#sign-in-form')).toBe(true);
    });

    it('the demo the service serves at /demo/ signs in and streams on its own origin', async () => {
      const [user, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
      const context = await newContext();
      const page = await context.newPage();
      await page.goto(`${t.baseUrl}/demo/${transport === 'sse' ? '' : `?transport=${transport}`}`);
      expect(await page.textContent('#api')).toBe(t.baseUrl);

      await submitSignIn(page, user.email, user.password);
      await page.waitForSelector('#status[data-status=open]');
      await follow(t, follower, user.authorId);

      const item = await page.waitForSelector('#notifications li[data-type=follower]');
      expect(await item.textContent()).toContain(
        `${follower.body.author.name} started following you`,
      );
      expect(await sessionCookieIn(context)).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    });
  });

  // Last, as it restarts the suite's app: the page talks to it through a proxy, whose origin stays
  // the same when the app comes back on another port.
  describe('across a restart of the service', () => {
    let proxy: Proxy;
    let restarting: Promise<void> | undefined;

    beforeAll(async () => {
      proxy = await startProxy(Number(new URL(t.baseUrl).port));
    });

    afterAll(async () => {
      // A restart past its deadline may still finish once the pages are closed: wait for it, so
      // that the suite's afterAll closes the app that is running.
      await restarting?.catch(() => undefined);
      await proxy?.close();
    });

    /**
     * Restarts the app and points the proxy at its new port. A restart that does not finish by the
     * deadline fails the test with what the page did meanwhile, rather than at Jest's timeout.
     */
    async function restart(log: TransportLog, whileStopped?: () => void): Promise<void> {
      const before = log.requests.length;
      restarting = t.restart(whileStopped).then((next) => {
        t = next;
        proxy.retarget(Number(new URL(next.baseUrl).port));
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, fail) => {
        timer = setTimeout(() => {
          const requests = log.requests.length - before;
          fail(
            new Error(
              `restart not done within ${RESTART_DEADLINE_MS} ms; ${requests} stream requests from the page meanwhile`,
            ),
          );
        }, RESTART_DEADLINE_MS);
      });
      try {
        await Promise.race([restarting, deadline]);
      } finally {
        clearTimeout(timer);
      }
    }

    /** Every value #status takes from now on, in order. */
    async function watchStatus(page: Page): Promise<() => Promise<string[]>> {
      await page.evaluate(() => {
        const window = globalThis as unknown as InPage;
        const status = window.document.getElementById('status');
        const seen: string[] = (window.statuses = []);
        new window.MutationObserver(() => seen.push(status.dataset.status ?? '')).observe(status, {
          attributeFilter: ['data-status'],
        });
      });
      return () => page.evaluate(() => (globalThis as unknown as InPage).statuses);
    }

    /** The demo, through the proxy, signed in as `user` with its stream open and #status watched. */
    async function streaming(user: SignedIn, transport: Transport) {
      const { page, log } = await openDemo(
        await newContext(),
        pages.origin,
        proxy.origin,
        transport,
      );
      await submitSignIn(page, user.email, user.password);
      await page.waitForSelector('#status[data-status=open]');
      const statuses = await watchStatus(page);
      return { page, log, statuses, requestsBefore: log.requests.length };
    }

    /**
     * README, "Real-time notifications": at shutdown every stream gets `reconnect` first, rather
     * than being cut (over WebSocket, a close with code 4000 and reason `reconnect`).
     */
    async function expectToldToReconnect(log: TransportLog): Promise<void> {
      await waitFor(() => log.told('reconnect'), {
        timeoutMs: 1_000,
        message: '`reconnect` on the stream before the service stopped',
      });
    }

    describe.each(TRANSPORTS)('over %s', (transport) => {
      // Sessions outlive a restart on both drivers: in Redis, or in the embedded stand-in's file
      // under DATA_DIR (docs/RELIABILITY.md); the client must come back on its own.
      it('the client backs off while the service is down, reconnects, and gets what follows', async () => {
        const [user, follower] = await Promise.all([registerAuthor(t), registerAuthor(t)]);
        const { page, log, statuses, requestsBefore } = await streaming(user, transport);

        await restart(log);

        await waitFor(async () => (await statuses()).at(-1) === 'open', {
          timeoutMs: 15_000,
          message: 'the stream open again',
        });
        expect(await statuses()).toContain('reconnecting');
        // Backing off, not a tight loop, while the service was away.
        expect(log.requests.length - requestsBefore).toBeLessThan(15);

        await follow(t, follower, user.authorId);
        const item = await page.waitForSelector('#notifications li[data-type=follower]');
        expect(await item.textContent()).toContain(
          `${follower.body.author.name} started following you`,
        );
        await expectToldToReconnect(log);
      });

      // Losing the stand-in's file while stopped is the embedded form of a flushed Redis.
      const withEmbeddedRedis = SERVICES.redisUrl ? it.skip : it;

      withEmbeddedRedis(
        'with the sessions lost during the restart (embedded driver), the client signs out instead of retrying',
        async () => {
          const { page, log, statuses, requestsBefore } = await streaming(
            await registerAuthor(t),
            transport,
          );

          await restart(log, () =>
            rmSync(join(t.config.dataDir, 'redis-standin.json'), { force: true }),
          );

          await page.waitForSelector('#sign-in:not([hidden])', { timeout: 15_000 });
          expect(await page.getAttribute('#status', 'data-status')).toBe('signed-out');
          expect(await statuses()).toContain('reconnecting');
          expect(log.requests.length - requestsBefore).toBeLessThan(15);
          const requests = log.requests.length;
          await page.evaluate((api) => fetch(`${api}/health`).then((r) => r.status), proxy.origin);
          expect(log.requests).toHaveLength(requests);
          await expectToldToReconnect(log);
        },
      );
    });
  });
});
