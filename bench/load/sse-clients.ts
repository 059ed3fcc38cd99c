import { request } from 'node:http';
import WebSocket, { type RawData } from 'ws';
import { nowMs } from '../support/latency';

/**
 * The stream load process of `npm run bench`: opens many SSE streams or GraphQL WebSockets and
 * reports, over IPC, when each one opened (an SSE stream's first `data:` event, a socket's
 * `connection_ack`), when each message that carries `sent_at` arrived, and when a stream ended. It
 * runs apart from the server it loads, so that neither pays for the other's CPU.
 *
 * Requests (parent → child):
 *   { op: 'open', streams: StreamSpec[], inFlight } → { op: 'opened', openMs[], failures[], elapsedMs }
 *   { op: 'collect', count, deadlineMs, type? } → { op: 'collected', latencies[], lastAt, timedOut }
 *     (the next `count` messages after the first, from the last collect on, of `type` when given;
 *     a latency is receipt minus the message's `sent_at`, NaN without one)
 *   { op: 'close-all' } → { op: 'closed-all' }
 * Events (child → parent): { op: 'ended', index, at, lastType }
 */
/** An SSE stream: GET `url` with `headers`. */
interface SseSpec {
  transport?: 'sse';
  url: string;
  headers: Record<string, string>;
}
/**
 * A `graphql-transport-ws` socket on `url` (ws://…/graphql), authenticated by `token` in
 * `connection_init`, with one `notifications` subscription sent once acknowledged.
 */
interface SocketSpec {
  transport: 'ws';
  url: string;
  token: string;
}
type StreamSpec = SseSpec | SocketSpec;
type Request =
  | { op: 'open'; streams: StreamSpec[]; inFlight: number }
  | { op: 'collect'; count: number; deadlineMs: number; type?: string }
  | { op: 'close-all' };

/**
 * Replies and events. Once the parent has gone (the process is then on its way out) a send fails;
 * the callback takes that error instead of the process's 'error' event.
 */
const send = (message: unknown) => {
  if (process.connected) process.send!(message, undefined, {}, () => undefined);
};
const open = new Set<{ destroy: () => void }>();

interface Receipt {
  /** Receipt minus the message's `sent_at`; NaN for a message without one. */
  latency: number;
  at: number;
  type: string;
}
/** Stamped messages that arrived while no collect was waiting (kept for the next one). */
let backlog: Receipt[] = [];
let pending: { count: number; type?: string; got: Receipt[]; done: () => void } | undefined;

function received(receipt: Receipt): void {
  if (!pending) {
    if (backlog.length < 100_000) backlog.push(receipt);
    return;
  }
  if (pending.type !== undefined && pending.type !== receipt.type) return;
  pending.got.push(receipt);
  if (pending.got.length >= pending.count) pending.done();
}

function openOne(index: number, spec: StreamSpec): Promise<number> {
  return spec.transport === 'ws' ? openSocket(index, spec) : openStream(index, spec);
}

function openStream(index: number, spec: SseSpec): Promise<number> {
  const started = nowMs();
  return new Promise((resolve, reject) => {
    let opened = false;
    let lastType = '';
    const req = request(spec.url, { headers: spec.headers, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return reject(new Error(`HTTP ${response.statusCode}`));
      }
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (!data) continue;
          const at = nowMs();
          if (!opened) {
            opened = true;
            resolve(at - started);
            continue;
          }
          const message = JSON.parse(data) as {
            type?: string;
            sent_at?: number;
            payload?: { sent_at?: number };
          };
          lastType = message.type ?? '';
          const sentAt = message.payload?.sent_at ?? message.sent_at ?? Number.NaN;
          received({ latency: at - sentAt, at, type: lastType });
        }
      });
      response.on('close', () => {
        open.delete(req);
        send({ op: 'ended', index, at: nowMs(), lastType });
      });
    });
    req.on('error', (error) => {
      open.delete(req);
      if (!opened) reject(error);
    });
    open.add(req);
    req.end();
  });
}

const SUBSCRIBE = JSON.stringify({
  id: '1',
  type: 'subscribe',
  payload: {
    query: 'subscription { notifications { id type action entity payload createdAt } }',
  },
});
/** A message of the protocol, as far as this client reads it. */
interface ProtocolMessage {
  type: string;
  payload?: { data?: { notifications?: { type: string; payload: string } } };
}
let subscriptionErrorReported = false;

function openSocket(index: number, spec: SocketSpec): Promise<number> {
  const started = nowMs();
  return new Promise((resolve, reject) => {
    let opened = false;
    let lastType = '';
    // The server declines compression; not offering it saves the negotiation.
    const socket = new WebSocket(spec.url, 'graphql-transport-ws', { perMessageDeflate: false });
    const handle = { destroy: () => socket.terminate() };
    open.add(handle);
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { token: spec.token } }));
    });
    socket.on('message', (data: RawData) => {
      const at = nowMs();
      const message = JSON.parse(data.toString()) as ProtocolMessage;
      if (message.type === 'connection_ack') {
        opened = true;
        resolve(at - started);
        socket.send(SUBSCRIBE);
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'next' && message.payload?.data?.notifications) {
        const notification = message.payload.data.notifications;
        lastType = notification.type;
        const sentAt = (JSON.parse(notification.payload) as { sent_at?: number }).sent_at;
        received({ latency: at - (sentAt ?? Number.NaN), at, type: lastType });
      } else if (message.type !== 'pong') {
        // The subscription failed or ended: said once, as thousands of sockets would repeat it.
        if (!subscriptionErrorReported) {
          subscriptionErrorReported = true;
          process.stderr.write(`ws-clients: subscription ended: ${data.toString()}\n`);
        }
        socket.close();
      }
    });
    // Its message (a refused upgrade's status) says more than the 1006 close that follows it.
    socket.on('error', (error) => {
      if (!opened) reject(error);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      open.delete(handle);
      if (!opened) return reject(new Error(`closed ${code} ${reason.toString()}`));
      send({ op: 'ended', index, at: nowMs(), lastType });
    });
  });
}

async function openAll(streams: StreamSpec[], inFlight: number): Promise<void> {
  const started = nowMs();
  const openMs: number[] = [];
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, streams.length) }, async () => {
      for (let index = next++; index < streams.length; index = next++) {
        try {
          openMs.push(await openOne(index, streams[index]));
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    }),
  );
  send({ op: 'opened', openMs, failures, elapsedMs: nowMs() - started });
}

async function collect(count: number, deadlineMs: number, type?: string): Promise<void> {
  const got = backlog.filter((receipt) => type === undefined || receipt.type === type);
  backlog = [];
  let timedOut = false;
  if (got.length < count) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, deadlineMs);
      pending = {
        count,
        type,
        got,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
    pending = undefined;
  }
  const taken = got.slice(0, count);
  send({
    op: 'collected',
    latencies: taken.map((receipt) => receipt.latency),
    lastAt: taken.reduce((last, receipt) => Math.max(last, receipt.at), 0),
    timedOut,
  });
}

process.on('message', (message: Request) => {
  if (message.op === 'open') void openAll(message.streams, message.inFlight);
  else if (message.op === 'collect') void collect(message.count, message.deadlineMs, message.type);
  else if (message.op === 'close-all') {
    for (const stream of open) stream.destroy();
    open.clear();
    send({ op: 'closed-all' });
  }
});
process.on('disconnect', () => process.exit(0));
