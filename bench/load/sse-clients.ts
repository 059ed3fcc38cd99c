import { request } from 'node:http';
import { nowMs } from '../support/latency';

/**
 * The SSE load process of `npm run bench`: opens many streams and reports, over IPC, when each one
 * opened (its first `data:` event), when each message that carries `sent_at` arrived, and when a
 * stream ended. It runs apart from the server it loads, so that neither pays for the other's CPU.
 *
 * Requests (parent → child):
 *   { op: 'open', streams: { url, headers }[], inFlight } → { op: 'opened', openMs[], failures[], elapsedMs }
 *   { op: 'collect', count, deadlineMs, type? } → { op: 'collected', latencies[], lastAt, timedOut }
 *     (the next `count` messages after the first, from the last collect on, of `type` when given;
 *     a latency is receipt minus the message's `sent_at`, NaN without one)
 *   { op: 'close-all' } → { op: 'closed-all' }
 * Events (child → parent): { op: 'ended', index, at, lastType }
 */
interface StreamSpec {
  url: string;
  headers: Record<string, string>;
}
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
    for (const req of open) req.destroy();
    open.clear();
    send({ op: 'closed-all' });
  }
});
process.on('disconnect', () => process.exit(0));
