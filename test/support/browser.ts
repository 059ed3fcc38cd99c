import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// Real Chromium for the browser suite (issue #7): Debian's /usr/bin/chromium driven by
// playwright-core, never a downloaded browser. Also the servers around it: a static server that
// serves the demo page from an origin of its own, and a TCP proxy that gives the API an origin that
// survives a restart of the app (which comes back on another port).

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The stream's path, whatever the origin. */
export const STREAM_PATH = '/sse/notifications';

/** Declares the suite when Chromium is installed; otherwise skips it, with the reason printed. */
export function describeInChromium(title: string, suite: () => void): void {
  if (!existsSync(CHROMIUM_PATH)) {
    console.warn(`${CHROMIUM_PATH} not found: skipping "${title}" (install Debian's chromium)`);
    describe.skip(`${title} (no ${CHROMIUM_PATH})`, () => it('needs Chromium', () => undefined));
    return;
  }
  describe(title, suite);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface Origin {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  port: number;
  close(): Promise<void>;
}

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  return (server.address() as { port: number }).port;
}

/**
 * The demo page on an origin of its own: web/index.html at / and /index.html, the compiled scripts
 * of dist/web (`npm run build`) at /<name>.js. Nothing else, so no path ever leaves those folders.
 */
export async function startPageServer(): Promise<Origin> {
  const pageDir = resolve('web');
  const scriptDir = resolve('dist/web');
  const server = createHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    let file: string | undefined;
    let type = 'text/javascript; charset=utf-8';
    if (path === '/' || path === '/index.html') {
      file = resolve(pageDir, 'index.html');
      type = 'text/html; charset=utf-8';
    } else if (/^\/[\w-]+\.js$/.test(path)) {
      file = resolve(scriptDir, path.slice(1));
    }
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(readFileSync(file));
  });
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

export interface Proxy extends Origin {
  /** Sends new connections to another port (open ones stay where they are). */
  retarget(port: number): void;
}

/** Forwards every TCP connection to 127.0.0.1:<targetPort>; an unreachable target drops the client. */
export async function startProxy(targetPort: number): Promise<Proxy> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createTcpServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    track(client);
    track(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const port = await listen(server);
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    retarget: (next) => (target = next),
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

/** What a page does with the stream, as the browser's network layer reports it. */
export interface StreamLog {
  /** Every request the page made to the stream's path: EventSource connections and probes. */
  requests: string[];
  /** The data of every event-stream message the page received, in order. */
  messages: string[];
  /** The messages parsed (those that are JSON). */
  parsed(): Array<{ type?: string; [key: string]: unknown }>;
}

/**
 * Starts recording a page's stream traffic; call before the page opens the stream. Messages come
 * from the DevTools protocol (`Network.eventSourceMessageReceived`), so they are what Chromium's
 * EventSource actually received, without any hook in the page.
 */
export async function recordStream(page: Page): Promise<StreamLog> {
  const log: StreamLog = {
    requests: [],
    messages: [],
    parsed: () =>
      log.messages.flatMap((data) => {
        try {
          return [JSON.parse(data) as { type?: string }];
        } catch {
          return [];
        }
      }),
  };
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === STREAM_PATH) log.requests.push(request.url());
  });
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.eventSourceMessageReceived', (event) => log.messages.push(event.data));
  await cdp.send('Network.enable');
  return log;
}

/** Fills and submits the demo's sign-in form. */
export async function submitSignIn(page: Page, email: string, password: string): Promise<void> {
  await page.fill('#sign-in-form input[name=email]', email);
  await page.fill('#sign-in-form input[name=password]', password);
  await page.click('#sign-in-form button[type=submit]');
}

/** Saves a full-page screenshot (a PNG, checked by its signature) for people to look at. */
export async function saveScreenshot(page: Page, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  expect(readFileSync(path).subarray(0, 8)).toEqual(
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  );
}
