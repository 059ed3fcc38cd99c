import { createServer, type ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Redis from 'ioredis';

/**
 * The runtime's floor for the SSE rows of `npm run bench`: raw `node:http` streams fed by one Redis
 * subscriber connection on the same per-user channels Tessera listens on, with the same first
 * event and heartbeat, and no authentication, replay or bookkeeping.
 * `GET /sse?user=<id>` opens a stream; `GET /lag` reports the event-loop delay since the last call.
 * Environment: PORT, REDIS_URL, REDIS_KEY_PREFIX, SSE_HEARTBEAT_S (15).
 */
const prefix = process.env.REDIS_KEY_PREFIX ?? '';
const heartbeatMs = Number(process.env.SSE_HEARTBEAT_S ?? 15) * 1000;
const subscriber = new Redis(process.env.REDIS_URL!, { lazyConnect: false });
const streams = new Map<string, Set<ServerResponse>>();
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

subscriber.on('message', (channel: string, message: string) => {
  const listeners = streams.get(channel);
  if (!listeners) return;
  for (const response of listeners) response.write(`data: ${message}\n\n`);
});

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://floor');
  if (url.pathname === '/lag') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ p99Ms: lag.percentile(99) / 1e6, maxMs: lag.max / 1e6 }));
    lag.reset();
    return;
  }
  const user = Number(url.searchParams.get('user'));
  if (url.pathname !== '/sse' || !Number.isSafeInteger(user)) {
    response.writeHead(404).end();
    return;
  }
  const channel = `${prefix}notifications:${user}`;
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  response.write(`retry: 3000\ndata: {"type":"connected","user_id":${user}}\n\n`);
  let listeners = streams.get(channel);
  if (!listeners) {
    listeners = new Set();
    streams.set(channel, listeners);
    void subscriber.subscribe(channel);
  }
  listeners.add(response);
  const heartbeat = setInterval(() => response.write(': ping\n\n'), heartbeatMs);
  request.on('close', () => {
    clearInterval(heartbeat);
    listeners.delete(response);
    if (listeners.size === 0) {
      streams.delete(channel);
      void subscriber.unsubscribe(channel);
    }
  });
});
server.keepAliveTimeout = 0;
server.listen(Number(process.env.PORT), '127.0.0.1');

const stop = () => {
  server.closeAllConnections();
  server.close(() => void subscriber.quit().then(() => process.exit(0)));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
