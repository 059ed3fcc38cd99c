import { type ChildProcess, fork } from 'node:child_process';

/** An SSE stream (GET `url` with `headers`), or a GraphQL WebSocket (see bench/load/sse-clients.ts). */
export type StreamSpec =
  | { transport?: 'sse'; url: string; headers: Record<string, string> }
  | { transport: 'ws'; url: string; token: string };
export interface Opened {
  openMs: number[];
  failures: string[];
  elapsedMs: number;
}
export interface Collected {
  latencies: number[];
  lastAt: number;
  timedOut: boolean;
}
export interface Ended {
  index: number;
  at: number;
  lastType: string;
}

/**
 * The parent's side of `bench/load/sse-clients.ts`, a separate process that holds the streams (and
 * sockets).
 */
export class SseLoad {
  private readonly waiting = new Map<
    string,
    { resolve: (message: never) => void; reject: (error: Error) => void }[]
  >();
  private readonly ended: Ended[] = [];
  private endedWaiter: (() => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { op: string }) => {
      if (message.op === 'ended') {
        this.ended.push(message as unknown as Ended);
        this.endedWaiter?.();
        return;
      }
      this.waiting
        .get(message.op)
        ?.shift()
        ?.resolve(message as never);
    });
    child.once('exit', () => {
      for (const list of this.waiting.values()) {
        for (const { reject } of list.splice(0)) reject(new Error('the SSE load process exited'));
      }
    });
  }

  static start(): SseLoad {
    return new SseLoad(
      fork('dist/bench/load/sse-clients.js', [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }

  private request<T>(message: object, reply: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const list = this.waiting.get(reply) ?? [];
      list.push({ resolve: resolve as (message: never) => void, reject });
      this.waiting.set(reply, list);
      this.child.send(message);
    });
  }

  /** Opens the streams, `inFlight` connection attempts at a time; resolves once all have answered. */
  open(streams: StreamSpec[], inFlight: number): Promise<Opened> {
    return this.request({ op: 'open', streams, inFlight }, 'opened');
  }

  collect(count: number, deadlineMs: number, type?: string): Promise<Collected> {
    return this.request({ op: 'collect', count, deadlineMs, type }, 'collected');
  }

  /** The next stream to end, in the order they ended, or null after the deadline. */
  async nextEnded(deadlineMs: number): Promise<Ended | null> {
    const deadline = Date.now() + deadlineMs;
    while (this.ended.length === 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.endedWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.endedWaiter = undefined;
    return this.ended.shift() ?? null;
  }

  async closeAll(): Promise<void> {
    await this.request({ op: 'close-all' }, 'closed-all');
    this.ended.length = 0;
  }

  stop(): void {
    this.child.disconnect();
  }
}
